"""The sanitiser where text reaches a terminal: plain mode (a real run) and `check` diagnostics."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from annotui import events as ev
from annotui.audit.reader import read_records
from annotui.checklist.diagnostics import ChecklistError, Diagnostic
from annotui.engine.plain import PlainPresenter

from .processes import annotui

ANY = st.text(st.characters(codec=None, categories=None))
CONTROLS = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n", "\t"}

CHECKLISTS = Path(__file__).parent / "checklists"


def test_plain_mode_shows_escapes_and_never_obeys_them(tmp_path: Path) -> None:
    """A real run: the command writes OSC 52 (clipboard), CSI (clear screen), an 8-bit CSI and a
    CR that would hide 'ok'; a var value holds OSC 0 (window title). The terminal gets them all
    in a visible form; the audit log keeps the bytes as they were."""
    checklist = CHECKLISTS / "escapes.toml"
    log = tmp_path / "esc.jsonl"
    msg = "x\x1b]0;title\x07y"
    p = annotui(
        "run", str(checklist), "--plain", "--yes", "--audit", str(log), "--var", f"msg={msg}"
    )
    assert p.returncode == 0, p.stderr
    assert not CONTROLS.intersection(p.stdout + p.stderr), ascii(p.stdout)
    assert "| ^[]52;c;aGk=^G^[[2J<U+009B>1mok^MFAKE\n" in p.stdout
    assert "var msg = x^[]0;title^Gy" in p.stdout and "| x^[]0;title^Gy\n" in p.stdout
    texts = [r["text"] for r in read_records(log) if r["event"] == "step.output"]
    assert "\x1b]52;c;aGk=\x07\x1b[2J\x9b1mok\rFAKE" in "\n".join(texts)


@given(ANY, ANY, ANY)
@settings(max_examples=300)
def test_plain_presenter_prints_no_control_character(value: str, output: str, title: str) -> None:
    out = io.StringIO()
    present = PlainPresenter(out)
    present(ev.VarSet("x", value, "cli"))
    present(ev.StageStarted("s", title, 1, 1))
    present(ev.StepOutput("s/a", "stdout", output))
    present(ev.StepFinished("s/a", "failed", 1, 0.1, output, value))
    present(ev.StepSkipped("s/a", value, "alice"))
    present(ev.Announcement("s/a", output))
    assert not CONTROLS.intersection(out.getvalue())
    out.getvalue().encode("utf-8")  # no lone surrogate either


@given(ANY, ANY)
@settings(max_examples=500)
def test_a_diagnostic_is_one_line(file: str, message: str) -> None:
    line = str(Diagnostic(file, 3, 7, message))
    assert "\n" not in line and "\r" not in line and not CONTROLS.intersection(line)
    assert str(ChecklistError([Diagnostic(file, 1, 1, message)] * 2)).count("\n") == 1


def test_check_cannot_forge_a_diagnostic_line(tmp_path: Path) -> None:
    """`check` of a broken file whose name holds a newline, a forged FILE:LINE:COL: and an
    escape sequence: one line per problem, each naming the file in its visible form."""
    name = "a\nforged.toml:1:1: forged\x1b]0;t\x07.toml"
    path = tmp_path / name
    path.write_text('[checklist]\nid = "x"\ntitle = "t"\nversion = "1"\nbogus = 1\n')
    p = annotui("check", str(path))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    lines = p.stderr.splitlines()
    shown = f"{tmp_path}/a⏎forged.toml:1:1: forged^[]0;t^G.toml"
    assert lines and all(line.startswith(f"{shown}:") for line in lines), p.stderr
    assert not CONTROLS.intersection(p.stderr)
