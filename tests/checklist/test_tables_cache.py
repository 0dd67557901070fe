"""Validated checklists as tables, and the cache that lets a run skip pydantic: the tables must be
exact mirrors of the models, and the cache must never serve anything but what these exact bytes
validated to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from annotui.checklist import cache
from annotui.checklist.loader import ChecklistError, load_checklist
from annotui.checklist.models import Checklist
from annotui.checklist.tables import Table, decode, encode

HERE = Path(__file__).parent
REPO = HERE.parents[1]
VALID = [*sorted((REPO / "checklists").glob("*.toml")), HERE / "valid" / "every-kind.toml"]


def assert_mirrors(table: Any, model: Any, where: str = "") -> None:
    """The table has exactly the model's fields, with equal values, all the way down."""
    fields = getattr(type(model), "model_fields", None)
    if fields is not None:
        assert isinstance(table, Table), where
        assert list(table.fields()) == list(fields), where
        for name in fields:
            assert_mirrors(getattr(table, name), getattr(model, name), f"{where}.{name}")
    elif isinstance(model, list):
        assert isinstance(table, list) and len(table) == len(model), where
        for i, (t, m) in enumerate(zip(table, model, strict=True)):
            assert_mirrors(t, m, f"{where}[{i}]")
    elif isinstance(model, dict):
        assert isinstance(table, dict) and list(table) == list(model), where
        for k in model:
            assert_mirrors(table[k], model[k], f"{where}.{k}")
    else:
        assert table == model and type(table) is type(model), where


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_tables_mirror_the_models(path: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model = Checklist.model_validate(tomllib.loads(path.read_text()), strict=True)
    fresh = load_checklist(path).model  # validated now, and stored
    assert list(tmp_path.rglob("*.json")), "the validated tables were not cached"
    cached = load_checklist(path).model  # served from the cache
    assert_mirrors(fresh, model)
    assert_mirrors(cached, model)
    assert cached == fresh


def test_encoding_keeps_mappings_and_tables_apart() -> None:
    # keys an author may write that look like the encoding's own tags
    value = Table({"t": {"t": Table({"m": ["x"]}), "m": {}}, "for_each": {"t": ["a"]}, "n": None})
    assert decode(json.loads(json.dumps(encode(value)))) == value
    with pytest.raises(ValueError):
        decode({"t": {}, "m": {}})
    with pytest.raises(ValueError):
        decode({"x": {}})


def test_tables_are_read_only() -> None:
    table = Table({"run": "true", "cwd": None})
    with pytest.raises(AttributeError):
        table.run = "rm -rf /"  # type: ignore[attr-defined]
    assert table.replace(cwd="/srv").cwd == "/srv"
    assert table.cwd is None  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="no such field: rnu"):
        table.replace(rnu="x")
    assert table.fields(exclude_none=True) == {"run": "true"}


def test_a_warm_cache_run_never_imports_pydantic(tmp_path: Path) -> None:
    probe = (
        "import sys; from annotui.checklist.loader import load_checklist; "
        f"m = load_checklist({str(REPO / 'checklists' / 'anno-release.toml')!r}).model; "
        "print(len(m.stages), 'pydantic' in sys.modules)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs == [["10", "True"], ["10", "False"]]


def test_changed_bytes_are_validated_again(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "c.toml"
    text = (HERE / "valid" / "every-kind.toml").read_text()
    path.write_text(text)
    load_checklist(path)
    path.write_text(text.replace('kind = "gate"', 'kind = "gaet"', 1))
    with pytest.raises(ChecklistError, match="unknown step kind 'gaet'"):
        load_checklist(path)
    path.write_text(text)  # back to the validated bytes: served again
    assert load_checklist(path).model.checklist.id == "every-kind"


def test_an_invalid_file_is_never_cached(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for _ in range(2):
        with pytest.raises(ChecklistError):
            load_checklist(HERE / "many-errors.toml")
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_a_damaged_entry_is_a_miss_and_is_replaced(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = HERE / "valid" / "every-kind.toml"
    good = load_checklist(path)
    (entry,) = tmp_path.rglob("*.json")
    stored = entry.read_text()
    for damage in ("{not json", "[]", json.dumps({"format": 1, "sha256": "0" * 64}), stored[:-9]):
        entry.write_text(damage)
        assert cache.lookup(good.sha256) is None, damage
        assert load_checklist(path).model == good.model
        assert entry.read_text() == stored


def test_an_unwritable_cache_is_no_error(tmp_path: Path, monkeypatch: Any) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # mkdir below a file fails, even as root
    loaded = load_checklist(HERE / "valid" / "every-kind.toml")
    assert loaded.model.checklist.id == "every-kind"
    assert cache.lookup(loaded.sha256) is None
