"""`annotui check` on the broken corpus and on valid checklists: exit codes, FILE:LINE:COL lines,
understandable messages, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from annotui.cli import main

HERE = Path(__file__).parent
BROKEN = sorted((HERE / "broken").glob("*.toml"))
VALID = sorted((HERE / "valid").glob("*.toml"))
REPO = HERE.parents[1]


def expectation(path: Path) -> tuple[str, str]:
    """('LINE:COL', words) from the file's first line: `# expect: 12:5: unknown host`."""
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("# expect: "), f"{path.name} has no '# expect:' first line"
    line, col, words = first.removeprefix("# expect: ").split(":", 2)
    return f"{line}:{col}", words.strip()


def run_check(capsys: pytest.CaptureFixture[str], *files: str) -> tuple[int, str, str]:
    code = main(["check", *files])
    out, err = capsys.readouterr()
    return code, out, err


def test_corpus_is_large_enough() -> None:
    assert len(BROKEN) >= 30
    kinds = {p.name.split("-")[0] for p in BROKEN}
    assert {"syntax", "schema", "ref", "template", "pattern", "encoding", "foreach"} <= kinds


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_checklist(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where, words = expectation(path)
    code, out, err = run_check(capsys, str(path))
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert lines, "no diagnostics"
    assert all(line.startswith(f"{path}:") for line in lines), err
    hits = [line for line in lines if line.startswith(f"{path}:{where}: ")]
    assert hits, f"nothing reported at {where}:\n{err}"
    assert any(words.lower() in line.lower() for line in hits), f"{words!r} not in:\n{err}"
    assert "Traceback" not in err
    for jargon in ("Input should be", "pydantic", "instance of", "Extra inputs", "constrained-"):
        assert jargon not in err


def test_whole_corpus_through_the_real_cli() -> None:
    """One real process over every broken file: exit 2, a diagnostic for each, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "check", *map(str, BROKEN)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    reported = {line.split(":", 1)[0] for line in proc.stderr.splitlines()}
    assert reported == {str(p) for p in BROKEN}


def test_every_error_of_a_file_in_one_pass(capsys: pytest.CaptureFixture[str]) -> None:
    path = HERE / "many-errors.toml"
    code, _, err = run_check(capsys, str(path))
    assert code == 2
    where = [line.split(":")[1] + ":" + line.split(":")[2] for line in err.splitlines()]
    assert where == [
        "2:6", "2:12", "4:1", "7:14", "14:19", "18:7", "23:9", "27:40", "32:11", "33:11",
        "36:8", "38:3", "39:13", "40:23", "40:67", "44:10", "46:3", "51:6", "56:32",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty checklist"),
        (b"  \n\n\t\n", "empty checklist"),
        ('[checklist]\nid = "x"\n'.encode("utf-16"), "UTF-16"),
        (bytes(range(256)) * 4, "not a text file"),
        (b"\xff\xd8\xff\xe0 jpeg", "not UTF-8"),
    ],
    ids=["empty", "blank", "utf16", "binary", "jpeg"],
)
def test_unreadable_content(
    tmp_path: Path, content: bytes, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(content)
    code, _, err = run_check(capsys, str(path))
    assert code == 2
    assert err.startswith(f"{path}:1:1: ")
    assert words in err
    assert len(err.splitlines()) == 1


def test_missing_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.toml"
    code, _, err = run_check(capsys, str(missing), str(tmp_path))
    assert code == 2
    assert f"{missing}:1:1: no such file" in err
    assert f"{tmp_path}:1:1: is a directory" in err


def test_bom_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (HERE / "valid" / "minimal.toml").read_bytes())
    code, out, _ = run_check(capsys, str(path))
    assert code == 0
    assert "ok (1 stages, 2 steps)" in out


def test_valid_checklists_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_check(capsys, *map(str, VALID))
    assert code == 0, err
    assert err == ""
    assert f"{HERE / 'valid' / 'every-kind.toml'}: ok (3 stages, 7 steps)" in out.splitlines()


def test_mixed_valid_and_broken(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_check(capsys, str(VALID[0]), str(BROKEN[0]))
    assert code == 2
    assert "ok" in out
    assert str(BROKEN[0]) in err


def test_bundled_checklists_pass(capsys: pytest.CaptureFixture[str]) -> None:
    bundled = sorted((REPO / "checklists").glob("*.toml"))
    if not bundled:
        pytest.skip("no bundled checklist in checklists/ yet")
    code, _, err = run_check(capsys, *map(str, bundled))
    assert code == 0, err


def test_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_check(capsys, "no-such-checklist")
    assert code == 2
    assert err.startswith("no-such-checklist:1:1: no such file, and no bundled checklist")
