"""Checklists shipped with annotui: `checklists/` in the source tree, `annotui/_checklists/` in
the wheel (see the force-include in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path


def bundled_dirs() -> list[Path]:
    """Where bundled checklists live, the installed copy first; only existing directories."""
    candidates = [
        Path(__file__).resolve().parents[1] / "_checklists",
        Path(__file__).resolve().parents[2] / "checklists",
    ]
    return [d for d in candidates if d.is_dir()]


def bundled_checklists() -> list[str]:
    """Names of the bundled checklists (file names without .toml), sorted."""
    return sorted({p.stem for d in bundled_dirs() for p in d.glob("*.toml")})


def bundled_path(name: str) -> Path | None:
    """The file of the bundled checklist `name` (with or without .toml), or None."""
    stem = name.removesuffix(".toml")
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        return None
    for d in bundled_dirs():
        path = d / f"{stem}.toml"
        if path.is_file():
            return path
    return None
