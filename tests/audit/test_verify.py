"""Tampering with a real log written by the real writer is detected and the line named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotui.audit.chain import LineError, parse_line
from annotui.audit.verify import verify
from annotui.cli import main as cli

POSITIONS = ["first", "second", "middle", "last"]


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def position(name: str, n: int) -> int:
    """1-based line number for a named position in a log of n lines."""
    return {"first": 1, "second": 2, "middle": n // 2, "last": n}[name]


def run_verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli(["audit", "verify", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def rejected(log: Path, lines: list[bytes], capsys: pytest.CaptureFixture[str]) -> str:
    """Write `lines` as the log and run `audit verify` on it: it must fail (exit 1). Returns what
    it printed."""
    log.write_bytes(b"".join(lines))
    code, out = run_verify(log, capsys)
    assert code == 1, out
    return out


def test_intact_log_verifies(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = len(lines_of(log))
    code, out = run_verify(log, capsys)
    assert code == 0
    result = verify(log)
    assert result.ok and result.records == n and result.sealed
    assert out.splitlines()[0] == f"intact and sealed: {n} records, last hash {result.last_hash}"
    assert out.splitlines()[1:] == [
        f"seal seq {n - 3} (stage deploy[staging]): unsigned",
        f"seal seq {n - 1} (session end): unsigned",
    ]
    assert result.last_hash == json.loads(lines_of(log)[-1])["hash"]


@pytest.mark.parametrize("where", POSITIONS)
def test_one_changed_byte(log: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = lines_of(log)
    p = position(where, len(lines))
    line = bytearray(lines[p - 1])
    i = len(line) // 3
    line[i] = ord("X") if line[i] != ord("X") else ord("Y")
    lines[p - 1] = bytes(line)
    out = rejected(log, lines, capsys)
    assert out.startswith(f"{log}:{p}: "), out


@pytest.mark.parametrize("where", ["first", "second", "middle"])
def test_deleted_line(log: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = lines_of(log)
    p = position(where, len(lines))
    del lines[p - 1]
    out = rejected(log, lines, capsys)
    assert out.startswith(f"{log}:{p}: "), out
    assert "sequence gap" in out or "session.start" in out


def test_deleted_last_line_changes_the_final_hash(log: Path) -> None:
    """A chain cannot show that its end was cut off: the final hash (in the report and the
    release issue) is the anchor. Verify reports the shorter chain, its different final hash and
    the missing session.end. (Since seals: the log is then unsealed, exit 3.)"""
    before = verify(log)
    lines = lines_of(log)
    log.write_bytes(b"".join(lines[:-2]))  # session.end and the final seal
    after = verify(log)
    assert after.ok and after.records == before.records - 2
    assert after.last_hash != before.last_hash
    assert not after.ended and not after.sealed
    assert "without its final seal" in after.describe(log)


@pytest.mark.parametrize("where", [*POSITIONS, "after-last"])
def test_inserted_line(log: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = lines_of(log)
    n = len(lines)
    p = n + 1 if where == "after-last" else position(where, n)
    # A genuine record copied from elsewhere in the same log: valid JSON with a valid hash.
    copy = lines[p - 2] if p >= 2 else lines[1]
    lines.insert(p - 1, copy)
    out = rejected(log, lines, capsys)
    assert out.startswith(f"{log}:{p}: "), out


def test_inserted_forged_line(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = lines_of(log)
    lines.insert(4, b'{"seq":4,"event":"step.skipped","reason":"trust me"}\n')
    out = rejected(log, lines, capsys)
    assert out.startswith(f"{log}:5: missing field(s): ts, prev, hash"), out


@pytest.mark.parametrize("where", ["first", "middle", "second-to-last"])
def test_two_lines_swapped(log: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = lines_of(log)
    n = len(lines)
    p = {"first": 1, "middle": n // 2, "second-to-last": n - 1}[where]
    lines[p - 1], lines[p] = lines[p], lines[p - 1]
    out = rejected(log, lines, capsys)
    assert out.startswith(f"{log}:{p}: "), out


def test_reserialized_valid_json_is_not_canonical(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = lines_of(log)
    lines[6] = (json.dumps(json.loads(lines[6])) + "\n").encode()  # same data, other spacing
    out = rejected(log, lines, capsys)
    assert out.strip() == f"{log}:7: not in canonical form (the record was re-serialized or edited)"


def test_bad_json_in_the_middle(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = lines_of(log)
    lines[3] = lines[3][:40] + b"\n"
    out = rejected(log, lines, capsys)
    assert out.startswith(f"{log}:4: bad JSON"), out
    assert not verify(log).torn_tail


def test_torn_last_line_without_newline(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = len(lines_of(log))
    with open(log, "ab") as f:
        f.write(b'{"seq":%d,"ts":"2026-01-01T00:00:00.0' % n)
    result = verify(log)
    assert not result.ok and result.torn_tail and result.bad_line == n + 1
    assert result.records == n
    code, out = run_verify(log, capsys)
    assert code == 1
    assert (
        out.strip() == f"{log}:{n + 1}: torn last line: no trailing newline (cut short mid-write)"
    )


def test_torn_last_line_unparsable(log: Path) -> None:
    n = len(lines_of(log))
    with open(log, "ab") as f:
        f.write(b"\x00\x00\x00\x00\n")
    result = verify(log)
    assert result.torn_tail and result.bad_line == n + 1
    assert result.reason is not None and result.reason.startswith("torn last line: bad JSON")


def test_first_record_must_be_session_start(tmp_path: Path) -> None:
    from annotui.audit import chain

    path = tmp_path / "a.jsonl"
    pieces, _ = chain.seal(0, "2026-01-01T00:00:00.000000Z", "var.set", [], chain.ZERO_HASH)
    path.write_bytes(b"".join(pieces))
    result = verify(path)
    assert not result.ok and result.bad_line == 1
    assert result.reason == "the first record must be session.start, not var.set"


def test_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"")
    result = verify(path)
    assert not result.ok and result.bad_line == 1 and "empty" in (result.reason or "")


def test_parse_line_names_missing_fields() -> None:
    with pytest.raises(LineError, match=r"missing field\(s\): ts, event, prev, hash"):
        parse_line(b'{"seq":0}')
    with pytest.raises(LineError, match="not a JSON object"):
        parse_line(b"[1]")


def test_cli_missing_and_unreadable_paths(tmp_path: Path) -> None:
    """A real process: clear message, exit 2, never a traceback."""
    for path in (tmp_path / "nope.jsonl", tmp_path):
        for cmd in ("verify", "show", "report"):
            p = subprocess.run(
                [sys.executable, "-m", "annotui.cli", "audit", cmd, str(path)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert p.returncode == 2, (cmd, p.stderr)
            assert f"no audit log at {path}" in p.stderr
            assert "Traceback" not in p.stderr
