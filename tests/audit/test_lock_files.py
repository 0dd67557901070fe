"""The log's lock is keyed on the file itself, and files made beside a log never follow a link:
real processes, real symbolic and hard links."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotui import events as ev
from annotui.audit.errors import AuditError, AuditLocked
from annotui.audit.lock import lock_path
from annotui.audit.reader import read_records
from annotui.audit.verify import verify
from annotui.audit.writer import AuditWriter

from .conftest import header, write_run

ROOT = Path(__file__).parents[2]
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from annotui import events as ev
    from annotui.audit.writer import AuditWriter
    from tests.audit.conftest import header
    path = Path(sys.argv[1])
    if sys.argv[2] == "create":
        w = AuditWriter.create(path)
        w(header())
    else:
        w, _ = AuditWriter.open_append(path)
    print("ready", flush=True)
    for line in sys.stdin:
        w(ev.StepOutput("s/x", "stdout", line.strip()))
        print("wrote", flush=True)
    w.close()
    """
)


class Holder:
    """A second real process holding a log through one path until told to stop."""

    def __init__(self, path: Path, how: str = "create") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path), how],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "ready\n"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def write(self, text: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "wrote\n"

    def stop(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[Path, Holder]]:
    real = tmp_path / "logs" / "audit.jsonl"
    real.parent.mkdir()
    h = Holder(real)
    try:
        yield real, h
    finally:
        h.kill()


def _refused(path: Path) -> list[str]:
    """The refusals of a create and of a resume of ``path``."""
    messages = []
    for attempt in (AuditWriter.create, AuditWriter.open_append):
        with pytest.raises(AuditLocked) as err:
            attempt(path)
        messages.append(str(err.value))
    return messages


def test_a_second_writer_is_refused_through_any_path(tmp_path: Path, holder) -> None:
    real, h = holder
    symlink = tmp_path / "link.jsonl"
    symlink.symlink_to(real)
    hardlink = tmp_path / "hard.jsonl"
    os.link(real, hardlink)
    linked_dir = tmp_path / "dirlink"
    linked_dir.symlink_to(real.parent)
    other = real.parent / ".." / "logs" / "audit.jsonl"
    for path in (real, symlink, hardlink, linked_dir / "audit.jsonl", other):
        for message in _refused(path):
            assert message.startswith(f"audit log {path} is in use by pid {h.pid} ("), message
    # The holder goes on, alone: the chain is whole.
    h.write("still mine")
    h.stop()
    assert verify(real).ok and verify(real).records == 2
    for path in (real, symlink, hardlink, linked_dir / "audit.jsonl"):
        assert not lock_path(path).exists()  # no refused attempt left a lock file behind
    # Once it is gone, a writer through the symbolic link continues the same chain.
    writer, tail = AuditWriter.open_append(symlink)
    with writer:
        assert tail.records == 2
        writer(ev.SessionResumed("bob", None, "jump2", "live"))
    result = verify(real)
    assert result.ok and result.records == 3
    assert not lock_path(symlink).exists() and not lock_path(real).exists()


def test_the_refusal_names_the_path_the_holder_used(tmp_path: Path, holder) -> None:
    real, h = holder
    symlink = tmp_path / "link.jsonl"
    symlink.symlink_to(real)
    with pytest.raises(AuditLocked, match=rf"in use by pid {h.pid} \(user .* on host .*, since "):
        AuditWriter.open_append(symlink)
    hardlink = tmp_path / "hard.jsonl"
    os.link(real, hardlink)
    with pytest.raises(AuditLocked, match=rf"in use by pid {h.pid} \(.*another path"):
        AuditWriter.open_append(hardlink)


def test_a_symlink_planted_as_the_lock_file_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    log = tmp_path / "audit.jsonl"
    lock_path(log).symlink_to(victim)
    with pytest.raises(AuditError) as err:
        AuditWriter.create(log)
    message = str(err.value)
    assert f"refusing to use the lock file {lock_path(log)}: it is a symbolic link" in message
    assert str(victim) in message and "remove it" in message
    assert victim.read_text() == "precious\n"
    assert lock_path(log).is_symlink()  # left for a person to look at
    # A dangling one too; and the same for a resume.
    lock_path(log).unlink()
    lock_path(log).symlink_to(tmp_path / "nowhere")
    with pytest.raises(AuditError, match="is a symbolic link"):
        AuditWriter.create(log)
    assert not (tmp_path / "nowhere").exists()
    lock_path(log).unlink()
    with AuditWriter.create(log) as w:
        write_run(w, end=False)
    lock_path(log).symlink_to(victim)
    with pytest.raises(AuditError, match="is a symbolic link"):
        AuditWriter.open_append(log)
    assert victim.read_text() == "precious\n" and verify(log).ok


def test_a_hard_link_planted_as_the_lock_file_is_never_written(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    log = tmp_path / "audit.jsonl"
    os.link(victim, lock_path(log))
    with AuditWriter.create(log) as w:
        w(header())
        assert b'"pid"' in lock_path(log).read_bytes()
    assert victim.read_text() == "precious\n"


def _torn_log(tmp_path: Path) -> tuple[Path, bytes, int]:
    log = tmp_path / "audit.jsonl"
    with AuditWriter.create(log) as w:
        write_run(w, end=False)
    good = verify(log).good_size
    torn = b'{"seq":99,"ts":"2026-01-01T00:0'
    with open(log, "ab") as f:
        f.write(torn)
    return log, torn, good


def test_a_symlink_planted_as_the_torn_copy_is_never_followed(tmp_path: Path) -> None:
    log, _, good = _torn_log(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    planted = log.with_name(f"{log.name}.torn-{good}")
    planted.symlink_to(victim)
    size = log.stat().st_size
    with pytest.raises(AuditError) as err:
        AuditWriter.open_append(log)
    assert f"refusing to use the copy of the torn tail {planted}: it is a symbolic link" in str(
        err.value
    )
    assert victim.read_text() == "precious\n"
    assert log.stat().st_size == size and verify(log).torn_tail  # nothing cut, nothing lost
    assert not lock_path(log).exists()


def test_an_existing_torn_copy_is_kept_or_never_overwritten(tmp_path: Path) -> None:
    log, torn, good = _torn_log(tmp_path)
    first = log.with_name(f"{log.name}.torn-{good}")
    first.write_bytes(b"another torn tail, from an earlier crash")
    writer, tail = AuditWriter.open_append(log)
    writer.close()
    assert first.read_bytes() == b"another torn tail, from an earlier crash"
    assert tail.torn_copy == first.with_name(first.name + ".1")
    assert tail.torn_copy.read_bytes() == torn
    # A resume that died after saving the copy, before cutting the log: the copy is kept.
    with open(log, "ab") as f:
        f.write(torn)
    again = log.with_name(f"{log.name}.torn-{good}.2")
    again.write_bytes(torn)
    writer, tail = AuditWriter.open_append(log)
    writer.close()
    assert tail.torn_copy == first.with_name(first.name + ".1")  # the same bytes: reused
    assert verify(log).ok


def test_two_processes_resuming_through_two_paths(tmp_path: Path) -> None:
    """A resume through a hard link while another process resumes the same log: refused."""
    log = tmp_path / "audit.jsonl"
    with AuditWriter.create(log) as w:
        write_run(w, end=False)
    hard = tmp_path / "hard.jsonl"
    os.link(log, hard)
    h = Holder(log, "append")
    try:
        p = subprocess.run(
            [sys.executable, "-c", HOLDER, str(hard), "append"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert p.returncode != 0 and f"is in use by pid {h.pid}" in p.stderr
        h.write("one writer")
        h.stop()
    finally:
        h.kill()
    assert verify(log).ok
    assert [r["text"] for r in read_records(log) if r["event"] == "step.output"][-1] == (
        "one writer"
    )
