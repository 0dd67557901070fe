"""A log that cannot be written mid-step: a full file system (a real tmpfs), one that turns
read-only (a real ext4 on a loop device, as the kernel does on an error), and a log whose directory
is deleted. `annotui run --plain` runs as a real process: the running command (its whole process
group) is stopped, one line says what and where, the exit is 4, there is no traceback, and what is
left of the log verifies (or names its torn tail) and can be resumed.

These need root (mount); they are skipped, saying why, where mounting is not permitted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_cli import CHECKLISTS, annotui_cmd, read_log

from tests.sshd_fixture import group_members

pytestmark = pytest.mark.timeout(120)

LOST = CHECKLISTS / "audit-lost.toml"


def _mount(args: list[str], where: Path) -> None:
    r = subprocess.run(["mount", *args, str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount here (root and CAP_SYS_ADMIN needed): {r.stderr.strip()}")


def _umount(where: Path) -> None:
    if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 512 KiB tmpfs, unmounted (by its path) afterwards."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=512k", "tmpfs"], where)
    try:
        yield where
    finally:
        _umount(where)


@pytest.fixture
def ext4(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A real ext4 on a loop device mounted with errors=remount-ro: (mount point, the sysfs file
    that makes the kernel report an error on it, which turns it read-only at once)."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 is not installed")
    image = tmp_path / "ext4.img"
    with open(image, "wb") as f:
        f.truncate(8 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    where = tmp_path / "ext4"
    where.mkdir()
    _mount(["-o", "loop,errors=remount-ro", str(image)], where)
    try:
        source = subprocess.run(
            ["findmnt", "-n", "-o", "SOURCE", str(where)], capture_output=True, text=True
        ).stdout.strip()
        trigger = Path("/sys/fs/ext4") / Path(source).name / "trigger_fs_error"
        if not trigger.exists():
            pytest.skip(f"this kernel has no {trigger}")
        yield where, trigger
    finally:
        _umount(where)


def _start(tmp_path: Path, audit: Path, quiet: bool) -> tuple[Path, subprocess.Popen[str]]:
    work = tmp_path / "work"
    work.mkdir()
    cmd = annotui_cmd("run", LOST, "--plain", "--yes", "--var", f"work={work}", "--var",
                      f"quiet={'yes' if quiet else 'no'}", "--audit", audit)  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}, cwd=tmp_path,
    )  # fmt: skip
    return work, proc


def _wait_started(work: Path, proc: subprocess.Popen[str]) -> int:
    """The long step's process group, once it has printed a few lines."""
    started = work / "long.started"
    deadline = time.monotonic() + 30
    while not (started.exists() and started.read_text().strip()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the long step never started"
        time.sleep(0.05)
    time.sleep(0.5)  # some output records are written
    return int(started.read_text())


def _fill(where: Path) -> None:
    """Write a file until the file system is full."""
    with open(where / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
        with contextlib.suppress(OSError):
            f.close()


def _lost(
    tmp_path: Path, audit: Path, break_it: Callable[[], None], why: str, quiet: bool = False
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Run until the long step prints (or, `quiet`, runs silently: no record would fail), break
    the log's file system, and check the ending."""
    work, proc = _start(tmp_path, audit, quiet)
    try:
        pgid = _wait_started(work, proc)
        break_it()
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=30)
        stopped_in = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 4, out + err
    assert "Traceback" not in out + err and "Exception" not in err, err
    line = f"annotui: cannot write the audit log {audit}: {why}; the running command was stopped"
    assert err.splitlines() == [line], err  # one line, nothing else
    assert stopped_in < 10  # stopped, not run to its end (30 s)
    assert not (work / "long.finished").exists()
    assert group_members(pgid) == [], "the command's process group is still alive"
    return work, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _verify(audit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        annotui_cmd("audit", "verify", audit), capture_output=True, text=True, timeout=60
    )


def _intact(audit: Path) -> None:
    """`audit verify` finds every record intact (a run cut short has no final seal: that is
    said, and is no damage)."""
    v = _verify(audit)
    assert v.stdout.startswith("intact") and "torn" not in v.stdout, v.stdout + v.stderr


@pytest.mark.parametrize("quiet", [False, True], ids=["printing", "silent"])
def test_full_disk_mid_step_stops_the_command(tmp_path: Path, tmpfs: Path, quiet: bool) -> None:
    """Silent: the command writes nothing that would fail; the room the writer keeps past the
    log's end cannot be kept on the full file system, and that stops it."""
    audit = tmpfs / "run.jsonl"
    work, _ = _lost(tmp_path, audit, lambda: _fill(tmpfs), "No space left on device", quiet)
    _intact(audit)  # a half-written line was cut off again
    recs = read_log(audit)
    assert recs[-1]["step_key"] == "main/long"
    assert recs[-1]["event"] in ({"step.spawned", "step.started"} if quiet else {"step.output"})
    # with room again the run resumes: the long step's outcome is unknown and the operator asked
    (tmpfs / "filler").unlink()
    r = subprocess.run(
        annotui_cmd("run", LOST, "--plain", "--yes", "--var", f"work={work}", "--audit",
                    audit, "--resume"),
        input="d checked: long.finished absent\n", capture_output=True, text=True, timeout=60,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert [x["step_key"] for x in read_log(audit) if x["event"] == "step.unknown"] == ["main/long"]
    assert (work / "first.count").read_text() == "x\n"  # never run twice
    _intact(audit)


def test_full_disk_mid_line_leaves_a_log_that_verifies(tmp_path: Path, tmpfs: Path) -> None:
    """The disk fills while a big record is being written: the torn line is cut off again."""
    audit = tmpfs / "run.jsonl"
    work = tmp_path / "work"
    work.mkdir()
    _fill_but(tmpfs, 150_000)
    r = subprocess.run(
        annotui_cmd("run", LOST, "--plain", "--yes", "--var", f"work={work}", "--var",
                    "size=60000", "--audit", audit),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 4, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        f"annotui: cannot write the audit log {audit}: No space left on device; "
        "the running command was stopped"
    ]
    assert not (work / "long.finished").exists()
    assert group_members(int((work / "long.started").read_text())) == []
    _intact(audit)
    assert audit.read_bytes().endswith(b"\n")


def _fill_but(where: Path, room: int) -> None:
    """Fill the file system but for about `room` bytes."""
    _fill(where)
    filler = where / "filler"
    os.truncate(filler, max(0, filler.stat().st_size - room))


@pytest.mark.parametrize("quiet", [False, True], ids=["printing", "silent"])
def test_log_turned_read_only_mid_step(
    tmp_path: Path, ext4: tuple[Path, Path], quiet: bool
) -> None:
    """`mount -o remount,ro` is refused while the log is open for writing (EBUSY); the kernel's
    own switch to read-only after an error is what happens mid-run, so it is what is tested."""
    where, trigger = ext4
    audit = where / "run.jsonl"
    _lost(
        tmp_path, audit, lambda: trigger.write_text("annotui test\n"), "Read-only file system",
        quiet,
    )  # fmt: skip
    v = _verify(audit)
    out = v.stdout + v.stderr
    assert v.stdout.startswith("intact") or "torn last line" in out, out
    assert "Traceback" not in v.stdout + v.stderr


@pytest.mark.parametrize("quiet", [False, True], ids=["printing", "silent"])
def test_log_directory_deleted_mid_step(tmp_path: Path, quiet: bool) -> None:
    logs = tmp_path / "logs"
    audit = logs / "run.jsonl"
    why = "the file was removed or moved away"
    _lost(tmp_path, audit, lambda: shutil.rmtree(logs), why, quiet)


def test_log_replaced_mid_step(tmp_path: Path) -> None:
    """Renamed away and another file put in its place: the writes would go where nobody reads."""
    logs = tmp_path / "logs"
    audit = logs / "run.jsonl"

    def replace() -> None:
        audit.rename(logs / "moved.jsonl")
        audit.write_text("")

    _lost(tmp_path, audit, replace, "the file was replaced by another one")
    _intact(logs / "moved.jsonl")


@pytest.mark.parametrize(
    ("room", "code", "why"),
    [
        (0, 2, "cannot write the lock file {audit}.lock: No space left on device"),
        (
            4096,
            4,
            "cannot write the audit log {audit}: No space left on device; the run was stopped",
        ),
    ],
    ids=["no-room-for-the-lock", "no-room-for-the-first-record"],
)
def test_full_disk_at_the_start(
    tmp_path: Path, tmpfs: Path, room: int, code: int, why: str
) -> None:
    """Nothing runs, one line says why, no traceback (a run cancelled before its first await
    once ended with asyncio's CancelledError)."""
    audit = tmpfs / "run.jsonl"
    _fill_but(tmpfs, room)
    work = tmp_path / "work"
    work.mkdir()
    r = subprocess.run(
        annotui_cmd("run", LOST, "--plain", "--yes", "--var", f"work={work}", "--audit", audit),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == code, r.stdout + r.stderr
    assert r.stderr.splitlines() == [f"annotui: {why.format(audit=audit)}"], r.stderr
    assert not (work / "first.count").exists()
