"""Local transport: /bin/sh in its own process group, its script on a pipe, streamed in blocks.

The command's text never appears in an argv: the shell reads it from a pipe that holds all of it
(see `shell`). Its lifeline is one watcher process for the whole run (`_Lifeline`): a small sh
loop in a session of its own, reading a pipe that only annotui holds open for writing. A
command's shell registers its process group there as its first act (through a single-digit
descriptor of that pipe, which it closes before it reads its script), so there is no moment
when a command runs unregistered; annotui unregisters it when its run ends. When annotui ends
in any way, `kill -9` included, the kernel closes the pipe and the watcher sends SIGTERM, then
SIGKILL after `KILL_GRACE` seconds, to every group still registered: the commands die with
annotui, their children too. It costs no extra process per step, and the script is in its pipe
before the shell starts, so the shell never waits for annotui.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import signal

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


async def _pump(reader: asyncio.StreamReader, stream: Stream, deliver: Deliver) -> None:
    """Read big blocks and hand over every complete line (see `OnLine` for `text` sinks)."""
    buf = b""
    while True:
        block = await reader.read(1 << 16)
        if not block:
            if buf:
                deliver(stream, buf.decode("utf-8", "replace"))
            return
        buf += block
        end = buf.rfind(b"\n")
        if end < 0:
            if len(buf) >= MAX_LINE:
                deliver(stream, buf.decode("utf-8", "replace"))
                buf = b""
            continue
        text, buf = buf[:end].decode("utf-8", "replace"), buf[end + 1 :]
        deliver(stream, text)


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


class _LocalJob(Job):
    def __init__(self, proc: asyncio.subprocess.Process, deliver: Deliver) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self.proc = proc
        self.pumps = asyncio.gather(
            _pump(proc.stdout, "stdout", deliver), _pump(proc.stderr, "stderr", deliver)
        )
        self.code = 0

    async def finish(self) -> None:
        await asyncio.shield(self.pumps)
        self.code = await self.proc.wait()

    async def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL after a grace period; drain the output."""
        proc = self.proc
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), KILL_GRACE)
        except TimeoutError:
            _signal_group(proc.pid, signal.SIGKILL)
            await proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # stragglers that ignored SIGTERM
        with contextlib.suppress(BaseException):
            await self.pumps

    def result(self, duration: float) -> RunResult:
        code = self.code
        sig = signal.Signals(-code).name if code < 0 else None
        return RunResult(code, duration, signal=sig)

    async def release(self) -> None:
        _lifeline.release(self.proc.pid)


class LocalTransport(Transport):
    """Runs commands with /bin/sh on this machine."""

    name = "local"

    def __init__(self, name: str = "local") -> None:
        self.name = name

    async def _start(self, command: Command) -> Job:
        children.install()
        data = script(command.text, env=command.env, stdin_null=True)
        cwd = command.cwd
        lifeline = _lifeline.child_fd()
        r, w = os.pipe()
        try:
            _hold(w, len(data))
            if lifeline is not None:  # the shell registers itself before it reads its script
                _write_all(w, data)
                os.close(w)
                w = -1
            proc = await asyncio.create_subprocess_exec(
                *local_argv(lifeline),
                cwd=cwd,
                stdin=r,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                pass_fds=() if lifeline is None else (lifeline,),
            )
        except BaseException as e:
            if w >= 0:
                os.close(w)
            if isinstance(e, OSError | ValueError):  # a missing cwd, a NUL in it, ...
                where = cwd or os.getcwd()
                raise TransportError(f"local: cannot start command in {where}: {e}") from e
            raise
        finally:
            os.close(r)
        _lifeline.track(proc.pid, registered=lifeline is not None)
        job = _LocalJob(proc, block_sink(command.on_line))
        try:
            if command.on_spawn is not None:
                command.on_spawn(Group(proc.pid, starttime(proc.pid), boot_id()))
            if w >= 0:
                _write_all(w, data)
        except BaseException:
            await job.stop()
            await job.release()
            raise
        finally:
            if w >= 0:
                os.close(w)
        return job

    async def group_alive(self, pgid: int, starttime: int | None, boot_id: str | None) -> bool:
        return _group_alive(pgid, starttime, boot_id)

    async def close(self) -> None:
        return None
