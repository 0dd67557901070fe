"""load_checklist / resolve_checklist / bundled_checklists as other modules use them, and a fuzz
test: no input makes the loader fail with anything but a ChecklistError."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotui.checklist.loader import (
    ChecklistError,
    Diagnostic,
    bundled_checklists,
    load_checklist,
    resolve_checklist,
)
from annotui.checklist.tables import is_mutating

HERE = Path(__file__).parent
EVERY_KIND = HERE / "valid" / "every-kind.toml"
REPO = HERE.parents[1]


def test_loaded_checklist() -> None:
    loaded = load_checklist(str(EVERY_KIND))
    assert loaded.path == EVERY_KIND
    assert loaded.text == EVERY_KIND.read_text()
    assert loaded.sha256 == hashlib.sha256(EVERY_KIND.read_bytes()).hexdigest()
    model = loaded.model
    assert model.checklist.id == "every-kind"
    assert [s.id for s in model.stages] == ["prepare", "deploy", "announce"]
    deploy = model.stages[1]
    assert deploy.for_each == {"environment": ["staging", "prod"]}
    kinds = [s.kind for s in deploy.steps]
    assert kinds == ["gate", "supervisor", "command", "command", "check"]
    swap, listing = deploy.steps[2], deploy.steps[3]
    assert swap.kind == "command" and is_mutating(swap)
    assert listing.kind == "command" and not is_mutating(listing)
    assert deploy.steps[1].kind == "supervisor" and deploy.steps[1].critical
    assert model.vars["password"].secret


def test_error_holds_all_diagnostics() -> None:
    with pytest.raises(ChecklistError) as info:
        load_checklist(HERE / "many-errors.toml")
    diagnostics = info.value.diagnostics
    assert len(diagnostics) == 19
    assert all(isinstance(d, Diagnostic) for d in diagnostics)
    first = diagnostics[0]
    assert (first.line, first.col) == (2, 6)
    assert str(first).startswith(f"{HERE / 'many-errors.toml'}:2:6: ")
    assert str(info.value).count("\n") == 18


def test_diagnostic_format() -> None:
    assert str(Diagnostic("a.toml", 3, 7, "unknown host 'x'")) == "a.toml:3:7: unknown host 'x'"


def test_existing_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = bundled_checklists()
    if not names:
        pytest.skip("no bundled checklist yet")
    monkeypatch.chdir(tmp_path)
    assert resolve_checklist(names[0]).is_file()
    assert resolve_checklist(names[0]).name == f"{names[0]}.toml"
    (tmp_path / names[0]).write_text("local")
    assert resolve_checklist(names[0]) == Path(names[0])


def test_bundled_names_match_the_source_tree() -> None:
    on_disk = sorted(p.stem for p in (REPO / "checklists").glob("*.toml"))
    assert bundled_checklists() == on_disk
    for name in on_disk:
        assert resolve_checklist(name) == (REPO / "checklists" / f"{name}.toml").resolve()
        assert resolve_checklist(f"{name}.toml").is_file()


@pytest.mark.parametrize("name", ["nope", "../etc/passwd", "", ".hidden", "a\x00b"])
def test_unknown_names_raise(name: str) -> None:
    with pytest.raises(ChecklistError) as info:
        resolve_checklist(name)
    assert "no bundled checklist" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.toml"
    path.write_text("x = 1")
    path.chmod(0)
    with pytest.raises(ChecklistError, match="permission denied"):
        load_checklist(path)


def _edits() -> st.SearchStrategy[tuple[int, int, str]]:
    return st.tuples(
        st.integers(0, 4000),
        st.integers(0, 8),
        st.text(st.sampled_from(list("[]{}\"'=.,#\n x{}0-")), max_size=6),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(_edits(), min_size=1, max_size=4))
def test_mangled_checklists_give_diagnostics_not_crashes(
    edits: list[tuple[int, int, str]],
) -> None:
    """Random deletions/insertions in a valid checklist: either it still loads, or every
    problem is a diagnostic inside the file (line and column within the text)."""
    text = EVERY_KIND.read_text()
    for at, length, insert in edits:
        at %= len(text) + 1
        text = text[:at] + insert + text[at + length :]
    _load_text(text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _load_text(text)


def _load_text(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            load_checklist(path)
        except ChecklistError as exc:
            assert exc.diagnostics
            lines = text.split("\n")
            for d in exc.diagnostics:
                assert d.file == str(path)
                assert 1 <= d.line <= len(lines) + 1, d
                assert d.col >= 1, d
                assert "Traceback" not in d.message
