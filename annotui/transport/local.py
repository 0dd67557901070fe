"""Local transport: /bin/sh in its own process group, its script on a pipe, streamed in blocks.

The command's text never appears in an argv: the shell reads it from a pipe that holds all of it
(see `shell`). Its lifeline is one watcher process for the whole run (`_Lifeline`): a small sh
loop in a session of its own, reading a pipe that only annotui holds open for writing. A
command's shell registers its process group there as its first act (through a single-digit
descriptor of that pipe, which it closes before it reads its script), so there is no moment
when a command runs unregistered; annotui unregisters it when its run ends. When annotui ends
in any way, `kill -9` included, the kernel closes the pipe and the watcher sends SIGTERM, then
SIGKILL after `KILL_GRACE` seconds, to every group still registered: the commands die with
annotui, their children too. It costs no extra process per step.

The script goes into its pipe (sized to hold all of it) once the shell has started and the step
`begin`s (`Command.begin`: its ``step.started`` record made durable): that fsync overlaps the
shell's own start. The write end is annotui's alone, so a shell whose annotui died before it
got its script reads an empty one (and the lifeline stops it): the command never runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import signal
import subprocess

from annotui.transport import children
from annotui.transport.base import (
    KILL_GRACE,
    MAX_LINE,
    Command,
    Deliver,
    Group,
    Job,
    RunResult,
    Stream,
    Transport,
    TransportError,
    block_sink,
)
from annotui.transport.shell import local_argv, script

_WATCHER = (
    "g=' '; while IFS= read -r l; do case $l in "
    '+*) case $g in *" ${l#+} "*) ;; *) g="$g${l#+} " ;; esac ;; '
    '-*) n=${l#-}; case $g in *" $n "*) g="${g%% $n *} ${g#* $n }" ;; esac ;; '
    "esac; done; [ \"$g\" = ' ' ] && exit 0; "
    'for n in $g; do kill -s TERM -- -"$n"; done 2>/dev/null; '
    f"sleep {KILL_GRACE:g}; "
    'for n in $g; do kill -s KILL -- -"$n"; done 2>/dev/null'
)
"""The lifeline's loop: `+PGID` and `-PGID` lines (un)register a group; at EOF (annotui is gone)
every group still registered is stopped."""


class _Lifeline:
    """The run's one watcher process (started on first use, again if it died)."""

    def __init__(self) -> None:
        self.pid = 0
        self.fd = -1
        self.groups: set[int] = set()

    def _running(self) -> bool:
        if self.fd < 0:
            return False
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def _spawn(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        r, w = os.pipe()
        try:
            self.pid = os.posix_spawn(
                "/bin/sh",
                ["/bin/sh", "-c", _WATCHER],
                {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},  # none of annotui's secrets
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, r, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_DUP2, 1, 2),
                ],
                setsid=True,  # out of the terminal's signals: it must outlive annotui
            )
            # A single-digit descriptor if one is free (sh redirects only those), kept for good.
            low = fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 3)
        except BaseException:
            os.close(w)
            raise
        finally:
            os.close(r)
        if low <= 9:
            os.close(w)
            w = low
        else:
            os.close(low)
        os.set_blocking(w, False)  # a stopped watcher must never block the event loop
        self.fd = w
        self._send(b"".join(b"+%d\n" % g for g in self.groups))

    def _send(self, lines: bytes) -> None:
        if lines:
            with contextlib.suppress(OSError):  # a stopped watcher's full pipe, or a dead one
                os.write(self.fd, lines)

    def child_fd(self) -> int | None:
        """The descriptor a command's shell registers itself through (the watcher is running),
        None if it is not single-digit: then `track(pgid, registered=False)` registers it."""
        if not self._running():
            self._spawn()
        return self.fd if self.fd <= 9 else None

    def track(self, pgid: int, *, registered: bool) -> None:
        self.groups.add(pgid)
        if not registered:
            self._send(b"+%d\n" % pgid)

    def release(self, pgid: int) -> None:
        self.groups.discard(pgid)
        self._send(b"-%d\n" % pgid)


_lifeline = _Lifeline()


class _Pipe:
    """One output pipe of a command, read by the event loop as it becomes readable: every read
    (up to 256 KiB) hands over its complete lines at once (see `OnLine` for `text` sinks)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, fd: int, stream: Stream, deliver: Deliver
    ) -> None:
        self.loop = loop
        self.fd = fd
        self.stream = stream
        self.deliver = deliver
        self.buf = b""
        self.done: asyncio.Future[None] = loop.create_future()
        """Resolved at EOF, or with what the sink raised (the pipe is then closed unread)."""
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            block = os.read(self.fd, 1 << 18)
        except BlockingIOError:
            return
        except OSError as e:
            self._end(e)
            return
        try:
            if not block:
                if self.buf:
                    self.deliver(self.stream, self.buf.decode("utf-8", "replace"))
                self._end(None)
                return
            buf = self.buf + block
            end = buf.rfind(b"\n")
            if end < 0:
                if len(buf) >= MAX_LINE:
                    self.deliver(self.stream, buf.decode("utf-8", "replace"))
                    buf = b""
                self.buf = buf
                return
            self.buf = buf[end + 1 :]
            self.deliver(self.stream, buf[:end].decode("utf-8", "replace"))
        except BaseException as e:  # the sink's: it stops the command (see `Transport.run`)
            self._end(e)

    def _end(self, error: BaseException | None) -> None:
        self.loop.remove_reader(self.fd)
        os.close(self.fd)
        if not self.done.done():
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _hold(fd: int, size: int) -> None:
    """Make the pipe `fd` hold `size` bytes, so that a script is written whole at once (and
    never run cut short)."""
    if size <= 4096 or fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) >= size:
        return
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)
    except OSError as e:
        raise TransportError(
            f"local: a pipe cannot hold this {size}-byte command here ({e.strerror})"
        ) from e


BOOT_ID = "/proc/sys/kernel/random/boot_id"


@functools.cache
def boot_id() -> str | None:
    """This host's boot id (read once: a process lives within one boot), None without /proc."""
    try:
        with open(BOOT_ID, encoding="ascii") as f:
            return f.read().strip() or None
    except (OSError, ValueError):
        return None


def _stat(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (the 3rd field, the state, first),
    None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()
    except OSError:
        return None


def starttime(pid: int) -> int | None:
    """When process `pid` started (/proc/PID/stat field 22, clock ticks since boot), None if it
    is gone or there is no /proc."""
    fields = _stat(pid)
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def _group_alive(pgid: int, started: int | None = None, boot: str | None = None) -> bool:
    """Whether a process of group `pgid` is alive, zombies aside (where nothing reaps them, a
    finished command's would stay for ever): from /proc, else `killpg(pgid, 0)`. With the
    leader's `started` time and the `boot` id recorded (see `is_alive`), a process `pgid` that
    started at another time, or another boot id, means the recorded group is dead."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = []
    if "self" not in entries:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if boot is not None and boot_id() not in (None, boot):
        return False
    if started is not None:
        leader = starttime(pgid)
        if leader is not None and leader != started:
            return False
    for name in entries:
        if name.isdigit():
            fields = _stat(name)
            if fields is not None and int(fields[2]) == pgid and fields[0] != b"Z":
                return True
    return False


def _write_all(fd: int, data: bytes) -> None:
    """At once: the pipe holds it all (`_hold`)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _wait(pid: int) -> int:
    """The exit code of the ended child `pid` (-N: killed by signal N)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped elsewhere: what asyncio's own watchers report
        return 255
    return os.waitstatus_to_exitcode(status)


class _LocalJob(Job):
    """A command's shell: its two pipes and its end (a pidfd, readable when it exits), all
    watched by the event loop itself (asyncio's subprocess transport costs a few tasks,
    futures and loop turns more per command)."""

    def __init__(
        self, popen: subprocess.Popen[bytes], out: int, err: int, deliver: Deliver
    ) -> None:
        loop = asyncio.get_running_loop()
        self.popen = popen
        self.pid = popen.pid
        self.pipes = (_Pipe(loop, out, "stdout", deliver), _Pipe(loop, err, "stderr", deliver))
        self.exited: asyncio.Future[int] = loop.create_future()
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # no pidfds here: a thread waits instead
            waiting = loop.run_in_executor(None, _wait, self.pid)
            waiting.add_done_callback(lambda f: self._ended(f.result()))
        else:
            loop.add_reader(pidfd, self._reap, loop, pidfd)
        self.code = 0

    def _reap(self, loop: asyncio.AbstractEventLoop, pidfd: int) -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        self._ended(_wait(self.pid))

    def _ended(self, code: int) -> None:
        self.popen.returncode = code  # reaped here: subprocess must never wait for it again
        self.exited.set_result(code)

    async def _drained(self) -> None:
        for pipe in self.pipes:  # a timeout's cancel must not stop the reading (see `stop`)
            await asyncio.shield(pipe.done)

    async def finish(self) -> None:
        await self._drained()
        self.code = await asyncio.shield(self.exited)

    async def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL after a grace period; drain the output."""
        pid = self.pid
        _signal_group(pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self.exited), KILL_GRACE)
        except TimeoutError:
            _signal_group(pid, signal.SIGKILL)
            await asyncio.shield(self.exited)
        _signal_group(pid, signal.SIGKILL)  # stragglers that ignored SIGTERM
        with contextlib.suppress(BaseException):
            await self._drained()

    def result(self, duration: float) -> RunResult:
        code = self.code
        sig = signal.Signals(-code).name if code < 0 else None
        return RunResult(code, duration, signal=sig)

    async def release(self) -> None:
        _lifeline.release(self.pid)


class LocalTransport(Transport):
    """Runs commands with /bin/sh on this machine."""

    name = "local"
    begins_late = True

    def __init__(self, name: str = "local") -> None:
        self.name = name

    async def _start(self, command: Command) -> Job:
        children.install()  # for the loop's other children (asyncio's own subprocesses)
        data = script(command.text, env=command.env, stdin_null=True)
        cwd = command.cwd
        lifeline = _lifeline.child_fd()
        fds: list[int] = []
        try:
            r, w = os.pipe()
            fds += (r, w)
            _hold(w, len(data))
            out_r, out_w = os.pipe()
            fds += (out_r, out_w)
            err_r, err_w = os.pipe()
            fds += (err_r, err_w)
            popen = subprocess.Popen(
                local_argv(lifeline),
                cwd=cwd,
                stdin=r,
                stdout=out_w,
                stderr=err_w,
                start_new_session=True,
                pass_fds=() if lifeline is None else (lifeline,),
            )
        except BaseException as e:
            for fd in fds:
                os.close(fd)
            if isinstance(e, OSError | ValueError):  # a missing cwd, a NUL in it, ...
                where = cwd or os.getcwd()
                raise TransportError(f"local: cannot start command in {where}: {e}") from e
            raise
        for fd in (r, out_w, err_w):  # the shell's ends
            os.close(fd)
        _lifeline.track(popen.pid, registered=lifeline is not None)
        job = _LocalJob(popen, out_r, err_r, block_sink(command.on_line))
        try:  # the shell starts meanwhile, and registers with the lifeline first
            if command.on_spawn is not None:
                command.on_spawn(Group(popen.pid, starttime(popen.pid), boot_id()))
            if command.begin is not None:
                command.begin()
            _write_all(w, data)
        except BaseException:
            await job.stop()
            await job.release()
            raise
        finally:
            os.close(w)
        return job

    async def group_alive(self, pgid: int, starttime: int | None, boot_id: str | None) -> bool:
        return _group_alive(pgid, starttime, boot_id)

    async def close(self) -> None:
        return None
