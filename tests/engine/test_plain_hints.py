"""Plain mode's words at the end of a run that did not finish: the resume hint is a command that
works as printed (the checklist as named, the vars file, absolute paths), a run stopped before
any step says so, and a var that nobody can give is bad input (exit 2), not an interruption."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

LOCAL = Path(__file__).parents[1] / "ui" / "checklists" / "local.toml"
ANNOTUI = [sys.executable, "-m", "annotui.cli"]


def plain(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ANNOTUI, "run", *args, "--plain"],
        input=stdin, text=True, capture_output=True, cwd=cwd, timeout=60,
    )  # fmt: skip


def test_the_resume_hint_resumes_with_the_vars_file(tmp_path: Path) -> None:
    (tmp_path / "v.toml").write_text('release = "v1.2.3"\nworkdir = "."\n')
    first = plain(
        str(LOCAL), "--audit", "a.jsonl", "--vars-file", "v.toml", cwd=tmp_path, stdin="q\n"
    )
    assert first.returncode == 3, first.stderr
    hint = next(line for line in first.stderr.splitlines() if line.startswith("resume with: "))
    argv = shlex.split(hint.removeprefix("resume with: "))
    assert argv[:3] == ["annotui", "run", str(LOCAL)]
    assert argv[argv.index("--vars-file") + 1] == str(tmp_path / "v.toml")
    assert argv[argv.index("--audit") + 1] == str(tmp_path / "a.jsonl")
    # pasted elsewhere, it resumes: no var is asked for again (the input holds only y's)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [*ANNOTUI, *argv[1:]], input="y\nhttps://notes/1\ny\ny\ny\n", text=True,
        capture_output=True, cwd=elsewhere, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release:" not in done.stdout


def test_a_bundled_checklist_keeps_its_name_in_the_hint(tmp_path: Path) -> None:
    from annotui.cli.run import resume_command
    from annotui.engine.options import RunOptions

    options = RunOptions(rehearse=True, vars_file=Path("v.toml"))
    argv = shlex.split(resume_command("anno-release", options, Path("x.jsonl")))
    assert argv[:5] == ["annotui", "run", "anno-release", "--plain", "--rehearse"]
    assert Path(argv[argv.index("--vars-file") + 1]).is_absolute()


def test_a_var_without_a_value_and_no_input_is_bad_input(tmp_path: Path) -> None:
    r = plain(str(LOCAL), "--audit", "a.jsonl", "--var", "workdir=.", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--var release=VALUE" in r.stderr
    assert "resume with" not in r.stderr
    assert "before any step" in r.stdout and "of 0 steps" not in r.stdout
