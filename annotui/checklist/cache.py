"""The cache of validated checklists: tables by the sha256 of a file's bytes.

An entry says "these exact bytes passed every check of this version of the checklist package"
and holds their tables, so a later run (after `annotui check`, a rehearsal, or an earlier run)
starts without importing pydantic. The key covers the file's bytes and the source of the
checklist package itself: any change to either misses. A missing, unreadable or damaged entry is
a miss, never an error; the file is then validated in full again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from annotui import __version__
from annotui.checklist.tables import decode, encode

FORMAT = 1
KEEP = 200
"""Entries kept; older ones are removed when a new one is stored."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "annotui" / "checklists"


@cache
def validator_fingerprint() -> str:
    """A digest of annotui's version and the source of the checklist package (the validator)."""
    h = hashlib.sha256(f"{__version__}/{FORMAT}".encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        h.update(source.name.encode() + b"\0" + source.read_bytes())
    return h.hexdigest()


def _entry(sha256: str) -> Path:
    key = hashlib.sha256(f"{validator_fingerprint()}:{sha256}".encode()).hexdigest()
    return cache_dir() / f"{key}.json"


def lookup(sha256: str) -> Any | None:
    """The tables of a file whose bytes have this sha256, if they were validated before."""
    try:
        doc = json.loads(_entry(sha256).read_bytes())
        if doc.get("format") != FORMAT or doc.get("sha256") != sha256:
            return None
        return decode(doc["tables"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(sha256: str, tables: Any) -> None:
    """Remember validated tables (atomically; quietly nothing when the cache is not writable)."""
    import tempfile  # only a first load writes

    path = _entry(sha256)
    body = json.dumps({"format": FORMAT, "sha256": sha256, "tables": encode(tables)})
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _prune(path.parent)


def _prune(directory: Path) -> None:
    entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
