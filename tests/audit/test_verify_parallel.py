"""verify of a large log in chunks, in forked processes: the same answer as a single pass, for a
tampered line in any chunk, a cut at a chunk boundary and lines reordered across it."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from annotui import events as ev
from annotui.audit import verify as verify_module
from annotui.audit.verify import verify
from annotui.audit.writer import AuditWriter

from .conftest import STAGING, header, write_run

WORKERS = (2, 3, 4)
SERIAL = 1 << 62
"""A parallel_from no log reaches: the single pass."""


def big_log(path: Path, outputs: int) -> Path:
    """A sealed run (the real writer) with ``outputs`` more output records, one line each."""
    with AuditWriter.create(path, fsync=False) as w:
        w(header())
        for i in range(outputs):
            w(ev.StepOutput(f"{STAGING}/x", "stdout", f"[{i:06d}] processing sample {i}: ok"))
        w(ev.StageFinished(STAGING, "ok"))
        w(ev.Sealed(w.seal_text()))
        w(ev.SessionEnded("done", 0, 1, 1, 0))
        w(ev.Sealed(w.seal_text()))
    return path


def boundary_lines(path: Path, workers: int) -> list[int]:
    """The 1-based numbers of the lines each chunk after the first starts with."""
    data = path.read_bytes()
    with open(path, "rb") as f:
        starts = verify_module._boundaries(f.fileno(), len(data), workers)
    return [data.count(b"\n", 0, s) + 1 for s in starts[1:]]


def same_both_ways(path: Path) -> verify_module.VerifyResult:
    """verify's single pass; asserting first that every split into chunks agrees with it."""
    assert threading.active_count() == 1  # else verify would not fork, and this proves nothing
    alone = verify(path, parallel_from=SERIAL)
    for workers in WORKERS:
        assert len(boundary_lines(path, workers)) == workers - 1
        assert verify(path, parallel_from=0, workers=workers) == alone, workers
    return alone


@pytest.fixture
def lines(tmp_path: Path) -> list[bytes]:
    return big_log(tmp_path / "big.jsonl", 3000).read_bytes().splitlines(keepends=True)


def test_an_intact_large_log(tmp_path: Path, lines: list[bytes]) -> None:
    path = tmp_path / "big.jsonl"
    result = same_both_ways(path)
    assert result.ok and result.sealed and result.ended and result.records == len(lines)
    assert [s.covers for s in result.seals] == [f"stage {STAGING}", "session end"]


@pytest.mark.parametrize("workers", WORKERS)
def test_a_changed_byte_in_any_chunk(tmp_path: Path, lines: list[bytes], workers: int) -> None:
    path = tmp_path / "big.jsonl"
    starts = boundary_lines(path, workers)
    for n in [2, *starts, *(s - 1 for s in starts), *(s + 7 for s in starts), len(lines)]:
        changed = list(lines)
        line = bytearray(changed[n - 1])
        line[len(line) // 2] ^= 0x01
        changed[n - 1] = bytes(line)
        path.write_bytes(b"".join(changed))
        result = same_both_ways(path)
        assert not result.ok and result.bad_line == n, (n, result)
    path.write_bytes(b"".join(lines))


@pytest.mark.parametrize("workers", WORKERS)
def test_reordered_across_a_chunk_boundary(
    tmp_path: Path, lines: list[bytes], workers: int
) -> None:
    path = tmp_path / "big.jsonl"
    for n in boundary_lines(path, workers):
        swapped = list(lines)
        swapped[n - 2], swapped[n - 1] = swapped[n - 1], swapped[n - 2]
        path.write_bytes(b"".join(swapped))
        result = same_both_ways(path)
        assert not result.ok and result.bad_line == n - 1 and "gap" in str(result.reason)
        moved = [*lines[: n - 1], *lines[n + 99 : n + 199], *lines[n - 1 : n + 99]]
        path.write_bytes(b"".join([*moved, *lines[n + 199 :]]))  # a block moved over the boundary
        result = same_both_ways(path)
        assert not result.ok and result.bad_line == n and "gap" in str(result.reason), result


@pytest.mark.parametrize("workers", WORKERS)
def test_cut_at_a_chunk_boundary(tmp_path: Path, lines: list[bytes], workers: int) -> None:
    path = tmp_path / "big.jsonl"
    for n in boundary_lines(path, workers):
        path.write_bytes(b"".join(lines[: n - 1]))  # the log ends where a chunk began
        result = same_both_ways(path)
        assert result.ok and not result.sealed and result.records == n - 1, result
        for back in range(300):  # 50 lines cut out just where a chunk of the cut log begins
            gap = n - back
            path.write_bytes(b"".join([*lines[: gap - 1], *lines[gap + 49 :]]))
            if gap in boundary_lines(path, workers):
                break
        else:
            pytest.fail("no cut found that falls on a chunk boundary")
        result = same_both_ways(path)
        assert not result.ok and result.bad_line == gap and "sequence gap" in str(result.reason)
        path.write_bytes(b"".join([*lines[: n - 1], lines[n - 1][:40]]))  # torn there
        result = same_both_ways(path)
        assert not result.ok and result.torn_tail and result.bad_line == n, result


def test_the_cli_on_a_log_past_the_threshold(tmp_path: Path) -> None:
    """``annotui audit verify`` itself takes the parallel path (exit 0, 1, 3 as ever)."""
    path = tmp_path / "big.jsonl"
    with AuditWriter.create(path, fsync=False) as w:
        write_run(w, output_lines=0, end=False)
        for i in range(verify_module.PARALLEL_FROM // 150):
            w(ev.StepOutput(f"{STAGING}/x", "stdout", f"[{i:07d}] processing sample {i}: ok"))
        w(ev.SessionEnded("done", 0, 1, 1, 0))
        w(ev.Sealed(w.seal_text()))
    data = path.read_bytes()
    assert len(data) > verify_module.PARALLEL_FROM
    lines = data.splitlines(keepends=True)

    def cli() -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "annotui.cli", "audit", "verify", str(path)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    done = cli()
    assert done.returncode == 0 and done.stdout.startswith(f"intact and sealed: {len(lines)} ")
    n = len(lines) * 3 // 4
    lines[n - 1] = lines[n - 1].replace(b"processing", b"Processing")
    path.write_bytes(b"".join(lines))
    done = cli()
    assert done.returncode == 1 and done.stdout.startswith(f"{path}:{n}: "), done.stdout
    path.write_bytes(b"".join(lines[: n - 1]))
    done = cli()
    assert done.returncode == 3 and "without its final seal" in done.stdout, done.stdout
