"""Paths as the operator sees them."""

from __future__ import annotations

from pathlib import Path


def shown_path(path: Path) -> str:
    """A path as the operator would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
