"""The audit writer: an engine event sink that appends hash-chained, fsynced JSON lines.

One record per event, written with ``os.writev`` on an ``O_APPEND`` descriptor. A written record
survives a crash of annotui at once (it is in the kernel); ``fsync`` makes it survive a crash of
the machine. Records that precede an action (a command starting, a step ending, the session's
end, ...) are fsynced before ``__call__`` returns; the few that only describe (``DEFERRED``: a
step shown, confirmed, a stage starting) are fsynced together with the next record or at the
latest when the event loop next goes idle, so a step confirmed by --yes costs one fsync before
its command starts, not three. Nothing of the log's content is kept in memory but the last hash.

A log that cannot be written (a full disk, a read-only or vanished file system, the file removed
or renamed: checked before every fsync) closes the writer: the record that failed raises
`AuditError`, one whose deferred fsync failed reaches `on_failure`, and a half-written line is cut
off again where the file system lets it be, so that the log still verifies.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from annotui.audit import chain, room
from annotui.audit.errors import AuditError
from annotui.audit.lock import LogLock, acquire, save_torn
from annotui.audit.seal import SEAL_EVENT, seal_text
from annotui.audit.verify import verify
from annotui.events import Event

REDACTED = "***"
DEFERRED = frozenset({"step.shown", "step.confirmed", "stage.start", "run.plan", "var.set"})
"""Records whose fsync may wait for the next record or the loop's next idle turn."""
UNSYNCED = frozenset({"step.spawned"})
"""Records without an fsync of their own (the next record's fsync, or close, covers them): what
they say matters only while this machine is up (which command of a step may still be running),
so reaching the kernel is enough, and a step costs no extra fsync."""
_RESERVED = frozenset(chain.RESERVED)


@dataclass(frozen=True, slots=True)
class TailState:
    """What ``open_append`` found at the end of an existing log."""

    records: int
    last_hash: str
    torn_tail: str | None
    """The torn last line, verbatim (undecodable bytes backslash-escaped), else None. The engine
    records it in the next ``session.resume`` event; it was moved out of the log (and saved to
    ``torn_copy``) so that the log verifies again."""
    torn_copy: Path | None
    """A file holding the torn bytes exactly, written before the log was truncated."""


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(path: Path, fd: int) -> LogLock:
    """The lock of the log open on ``fd``, keyed on the file itself: reached by any other path
    (a symbolic or hard link) it is still refused. ``fd`` is closed when the lock is refused."""
    try:
        return acquire(path, fd)
    except AuditError:
        os.close(fd)
        raise


def _redact(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        for s in secrets:
            value = value.replace(s, REDACTED)
        return value
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    return value


class AuditWriter:
    """Use ``AuditWriter.create(path)`` for a new log or ``AuditWriter.open_append(path)`` to
    resume one. Both hold the log's exclusive lock until ``close()`` (or the process's death)."""

    def __init__(
        self,
        path: Path,
        fd: int,
        lock: LogLock,
        *,
        seq: int = 0,
        prev: str = chain.ZERO_HASH,
        log: str | None = None,
        secrets: Sequence[str] = (),
        fsync: bool = True,
    ) -> None:
        self.path = path
        self._fd: int | None = fd
        self._lock = lock
        self._seq = seq
        self._prev = prev
        self._log = log
        """The hash of the log's first record: the ``log`` its seals name."""
        self._secrets = [s for s in secrets if s]
        self._escaped = [chain.encode(s)[1:-1] for s in self._secrets]
        """The secrets as they would appear in a line (in nested values too)."""
        self._fsync = fsync
        self._dirty = False
        """Written records wait for a deferred fsync."""
        self._unsynced = False
        """An UNSYNCED record was written: close() fsyncs."""
        self._held = False
        """A record written with ``sync=False`` waits for `sync()` (no idle fsync before it)."""
        self._failed: str | None = None
        """Why the log could not be written: every later record raises it."""
        stat = os.fstat(fd)
        self._file = (stat.st_dev, stat.st_ino)
        self._size = stat.st_size
        """The end of the last whole record (the log is appended to by this writer alone)."""
        self._room = True
        """Room past the end is kept (`room.keep_room`) until the file system says it cannot."""
        self.on_failure: Callable[[AuditError], None] | None = None
        """Called (from the event loop) when a deferred fsync fails: no record may be waiting
        for the log to tell the session that it is lost."""

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, *, secrets: Sequence[str] = (), fsync: bool = True) -> AuditWriter:
        """A new log at ``path`` (parents created). Refuses an existing non-empty file."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AuditError(f"cannot create the directory of {path}: {e.strerror}") from None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise AuditError(f"cannot create audit log {path}: {e.strerror}") from None
        lock = _lock(path, fd)
        if os.fstat(fd).st_size:
            os.close(fd)
            lock.release()
            raise AuditError(
                f"audit log {path} already exists and is not empty; "
                "use --resume to continue it, or choose another --audit path"
            )
        _fsync_dir(path)
        return cls(path, fd, lock, secrets=secrets, fsync=fsync)

    @classmethod
    def open_append(
        cls, path: Path, *, secrets: Sequence[str] = (), fsync: bool = True
    ) -> tuple[AuditWriter, TailState]:
        """Continue an existing log after verifying it. A torn last line is captured in the
        returned TailState and cut from the log; any other damage refuses the resume."""
        path = Path(path)
        if not path.is_file():
            raise AuditError(f"no audit log at {path}: nothing to resume")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        except OSError as e:
            raise AuditError(f"cannot open audit log {path}: {e.strerror}") from None
        lock = _lock(path, fd)
        try:
            torn, torn_copy, result = cls._repair_tail(path, fd)
        except OSError as e:
            lock.release()
            os.close(fd)
            raise AuditError(f"cannot open audit log {path}: {e.strerror}") from None
        except AuditError:
            lock.release()
            os.close(fd)
            raise
        assert result.last_hash is not None
        writer = cls(
            path,
            fd,
            lock,
            seq=result.records,
            prev=result.last_hash,
            log=result.first_hash,
            secrets=secrets,
            fsync=fsync,
        )
        return writer, TailState(result.records, result.last_hash, torn, torn_copy)

    @staticmethod
    def _repair_tail(path: Path, fd: int) -> tuple[str | None, Path | None, Any]:
        """Verify the log (the file locked on ``fd``) and move a torn tail out of it."""
        result = verify(path)
        if not os.path.samestat(os.stat(path), os.fstat(fd)):
            raise AuditError(f"{path} was replaced while it was being opened; try again")
        if not result.ok and not result.torn_tail:
            raise AuditError(
                f"{path}:{result.bad_line}: {result.reason}; refusing to append to a broken log"
            )
        if result.records == 0:
            raise AuditError(f"{path} has no complete record to resume from")
        if result.ok:
            return None, None, result
        with open(path, "rb") as f:
            if not os.path.samestat(os.fstat(f.fileno()), os.fstat(fd)):
                raise AuditError(f"{path} was replaced while it was being opened; try again")
            f.seek(result.good_size)
            raw = f.read()
        copy = save_torn(path, result.good_size, raw)
        # Only now that the torn bytes are safe elsewhere (and the engine will record them in
        # the next session.resume) is the log cut back to its last good line: the file locked,
        # whatever its name points to by now.
        os.ftruncate(fd, result.good_size)
        os.fsync(fd)
        _fsync_dir(path)
        return raw.decode("utf-8", "backslashreplace"), copy, result

    # -- writing -----------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """The seq of the next record (the number of records written so far)."""
        return self._seq

    @property
    def last_hash(self) -> str:
        return self._prev

    def seal_text(self) -> str:
        """What a seal written next must sign (``annotui.audit.seal``): the log, the seal's
        seq, and the hash of the record before it."""
        if self._log is None:
            raise AuditError("a seal needs the session's first record before it")
        return seal_text(self._log, self._seq, self._prev)

    def __call__(self, event: Event, *, sync: bool = True) -> str:
        """Append one record for ``event``; durable when this returns, unless ``sync`` is False:
        then it is durable once `sync()` (or the next fsynced record, or close) returns, and no
        deferred fsync runs before that. Returns its hash."""
        if self._failed is not None:
            raise AuditError(self._failed)
        if self._fd is None:
            raise AuditError(f"audit log {self.path} is closed")
        if self._seq == 0 and event.event != "session.start":
            raise AuditError(f"the first record must be session.start, not {event.event}")
        fields = event.to_fields()
        clash = _RESERVED.intersection(fields)
        if clash:
            raise AuditError(f"event {event.event} uses reserved field(s) {sorted(clash)}")
        if event.event == SEAL_EVENT and fields.get("signed") != self.seal_text():
            raise AuditError(f"a seal at seq {self._seq} must sign exactly: {self.seal_text()!r}")
        members = chain.encode_fields(fields)
        sealing = event.event == SEAL_EVENT  # hashes and a fingerprint: never redacted
        if not sealing and self._secrets and any(s in m for m in members for s in self._escaped):
            members = chain.encode_fields(_redact(fields, self._secrets))
        pieces, digest = chain.seal(self._seq, _utc_now(), event.event, members, self._prev)
        try:
            self._size += self._write(pieces)
            if self._fsync and not sync:
                self._held = True
            elif self._fsync and event.event in UNSYNCED:
                self._unsynced = True
            elif self._fsync:
                self._sync(deferred=event.event in DEFERRED)
        except OSError as e:
            raise self._fail(e) from None
        if self._seq == 0:
            self._log = digest
        self._seq += 1
        self._prev = digest
        return digest

    def _sync(self, deferred: bool) -> None:
        """fsync now, or (``deferred``) when the event loop next goes idle."""
        if deferred:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                if not self._dirty:
                    self._dirty = True
                    loop.call_soon(self._idle_sync)
                return
        assert self._fd is not None
        self._check_file()
        os.fsync(self._fd)
        self._dirty = self._held = False

    def sync(self) -> None:
        """fsync now if a record waits for it (one written with ``sync=False``): a step's
        ``step.started`` is durable before its command begins, while the command's process
        starts (the local transport hands the command to its shell only after this)."""
        if self._failed is not None:
            raise AuditError(self._failed)
        if not self._held or self._fd is None:
            return
        try:
            self._check_file()
            os.fsync(self._fd)
        except OSError as e:
            raise self._fail(e) from None
        self._dirty = self._held = False

    def _idle_sync(self) -> None:
        if self._held:  # `sync()` covers the records waiting here, at the moment it must
            return
        if self._dirty and self._fd is not None:
            try:
                self._check_file()
                os.fsync(self._fd)
            except OSError as e:
                error = self._fail(e)
                if self.on_failure is not None:
                    self.on_failure(error)
        self._dirty = False

    def _check_file(self) -> None:
        """Raise OSError unless the log's path still names the file written (a log removed,
        renamed or replaced takes writes that nobody will ever read)."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise OSError(errno.ENOENT, "the file was removed or moved away") from None
        if (stat.st_dev, stat.st_ino) != self._file:
            raise OSError(errno.ENOENT, "the file was replaced by another one")

    def _fail(self, e: OSError) -> AuditError:
        """Close the log after a failed write or fsync: a half-written line is cut off where the
        file system allows it (else a resume finds the torn tail and records it)."""
        if self._fd is not None:
            if e.errno == errno.EIO and self._turning_read_only():
                e = OSError(errno.EROFS, os.strerror(errno.EROFS))
            with contextlib.suppress(OSError):
                if os.fstat(self._fd).st_size > self._size:
                    os.ftruncate(self._fd, self._size)
            self._dirty = False
        self.close()
        self._failed = f"cannot write the audit log {self.path}: {e.strerror}"
        return AuditError(self._failed)

    def _turning_read_only(self) -> bool:
        """After an I/O error: the file system turns read-only (ext4's errors=remount-ro does so
        a moment after the error it reports), which is what the operator must be told."""
        assert self._fd is not None
        for _ in range(10):
            with contextlib.suppress(OSError):
                if os.fstatvfs(self._fd).f_flag & os.ST_RDONLY:
                    return True
            time.sleep(0.05)
        return False

    def _write(self, pieces: list[bytes]) -> int:
        """``writev`` the line's pieces (a step's output is not copied to join them); returns
        the number of bytes written."""
        assert self._fd is not None
        total = sum(map(len, pieces))
        written = os.writev(self._fd, pieces)
        if written < total:  # a short write: write the rest
            rest = memoryview(b"".join(pieces))[written:]
            while rest:
                rest = rest[os.write(self._fd, rest) :]
        return total

    def check(self) -> None:
        """Raise AuditError (closing the log) when it can no longer be written: its path no
        longer names the file, its file system turned read-only or is full (found by keeping
        room past the end: `room`). For a caller to poll while nothing is written (a silent
        command would otherwise run to its end unrecorded)."""
        if self._failed is not None:
            raise AuditError(self._failed)
        if self._fd is None:
            return
        try:
            self._check_file()
            if os.fstatvfs(self._fd).f_flag & os.ST_RDONLY:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))
            if self._room:
                self._room = room.keep_room(self._fd, self._size)  # ENOSPC: the disk is full
            os.fsync(self._fd)  # nothing to write back; a file system in error says so
        except OSError as e:
            raise self._fail(e) from None

    def close(self) -> None:
        if self._fd is not None:
            if self._dirty or self._unsynced or self._held:
                with contextlib.suppress(OSError):
                    os.fsync(self._fd)
                self._dirty = False
            if self._room:
                room.give_back(self._fd, self._size)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
            self._lock.release()

    def __enter__(self) -> AuditWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
