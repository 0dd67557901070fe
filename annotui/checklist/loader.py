"""Loading a checklist file: read, decode, parse with positions, validate, check references.

Every problem of a file is collected and raised together as a :class:`ChecklistError`, each as a
``FILE:LINE:COL: message`` :class:`Diagnostic`.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from annotui.checklist import cache, limits
from annotui.checklist.bundled import bundled_checklists, bundled_path
from annotui.checklist.diagnostics import ChecklistError, Diagnostic, Finding, listing
from annotui.checklist.tables import from_model

if TYPE_CHECKING:
    from tomlkit.exceptions import TOMLKitError

    from annotui.checklist.models import Checklist
    from annotui.checklist.positions import Positions

__all__ = [
    "ChecklistError",
    "Diagnostic",
    "LoadedChecklist",
    "bundled_checklists",
    "load_checklist",
    "resolve_checklist",
]

EMPTY = "empty checklist: it needs a [checklist] table and at least one [[stages]] table"
TOMLKIT_POSITION = re.compile(r" at line \d+ col \d+$")
MAX_DIAGNOSTICS = 100
"""Problems reported for one file; the rest are counted in one last line."""


@dataclass(frozen=True, slots=True)
class LoadedChecklist:
    path: Path
    text: str
    sha256: str
    """sha256 hex digest of the file's raw bytes."""
    model: Checklist
    """The validated checklist as read-only tables (:mod:`annotui.checklist.tables`) with the
    attributes of the pydantic models."""


def resolve_checklist(name_or_path: str) -> Path:
    """An existing path as given, else the bundled checklist of that name (e.g. anno-release)."""
    try:
        if name_or_path and Path(name_or_path).exists():
            return Path(name_or_path)
    except (OSError, ValueError):
        pass
    found = bundled_path(name_or_path)
    if found is not None:
        return found
    bundled = listing(bundled_checklists())
    msg = f"no such file, and no bundled checklist of that name (bundled: {bundled})"
    raise ChecklistError([Diagnostic(name_or_path, 1, 1, msg)])


def _read(path: Path, file: str) -> bytes:
    """The file's bytes; never more than the size limit (a device or a pipe may never end)."""
    try:
        with path.open("rb") as f:
            raw = f.read(limits.MAX_BYTES + 1)
            size = max(len(raw), os.fstat(f.fileno()).st_size)
        too_large = limits.too_large(size)
        if too_large is None:
            return raw
        message = too_large
    except FileNotFoundError:
        message = "no such file"
    except IsADirectoryError:
        message = "is a directory, not a checklist file"
    except PermissionError:
        message = "cannot read the file: permission denied"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
    raise ChecklistError([Diagnostic(file, 1, 1, message)])


def _byte_position(raw: bytes, index: int) -> tuple[int, int]:
    line_start = raw.rfind(b"\n", 0, index) + 1
    col = len(raw[line_start:index].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, index) + 1, col


def _decode(raw: bytes, file: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ChecklistError([Diagnostic(file, 1, 1, "the file is UTF-16 text; save it as UTF-8")])
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, col = _byte_position(raw, nul)
        msg = "not a text file (it contains a NUL byte); a checklist is UTF-8 TOML text"
        raise ChecklistError([Diagnostic(file, line, col, msg)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(raw, exc.start)
        msg = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be read); save the file as UTF-8"
        raise ChecklistError([Diagnostic(file, line, col, msg)]) from None
    return text.removeprefix("\ufeff")


def _syntax_error(exc: TOMLKitError, positions: Positions, file: str) -> Diagnostic:
    from tomlkit.exceptions import ParseError

    message = TOMLKIT_POSITION.sub("", str(exc)).rstrip(".")
    line, col = (1, 1)
    if isinstance(exc, ParseError):
        # tomlkit counts lines with str.splitlines, which also breaks at U+2028, U+0085, \f,
        # ...: back to its offset, then the line and column of newlines alone
        before = positions.text.splitlines(keepends=True)[: exc.line - 1]
        line, col = positions.line_col(sum(map(len, before)) + exc.col)
    if positions.duplicates and ("already exists" in message or "Redefinition" in message):
        path, offset = positions.duplicates[0]
        line, col = positions.line_col(offset)
        message = f"{'.'.join(map(str, path))} is defined twice"
    elif "use \\u000a instead" in message:
        message = "unterminated string: the closing quote is missing on this line"
    elif message == "Unexpected character: '\\n'":
        message = "unexpected end of line: a value, quote or bracket is missing"
    return Diagnostic(file, line, col, f"TOML syntax error: {message}")


def _diagnostic(finding: Finding, positions: Positions, file: str) -> Diagnostic:
    if finding.where == "key":
        offset = positions.key(finding.path)
    elif finding.where == "table":
        offset = positions.table(finding.path)
    elif finding.where == "inside":
        offset = positions.inside(finding.path, finding.index)
    else:
        offset = positions.value(finding.path)
    line, col = positions.line_col(offset)
    return Diagnostic(file, line, col, finding.message)


def load_checklist(path: str | Path) -> LoadedChecklist:
    """Read and validate a checklist file; raises ChecklistError listing every problem."""
    file = str(path)
    path = Path(path)
    raw = _read(path, file)
    text = _decode(raw, file)
    if not text.strip():
        raise ChecklistError([Diagnostic(file, 1, 1, EMPTY)])
    sha256 = hashlib.sha256(raw).hexdigest()
    tables = cache.lookup(sha256)
    if tables is None:
        _check_limits(file, text)
        tables = from_model(_fast_load(text) or _load_with_positions(file, text))
        cache.store(sha256, tables)
    _check_files(path, file, text, tables)
    return LoadedChecklist(path, text, sha256, tables)


def _check_files(path: Path, file: str, text: str, model: Checklist) -> None:
    """ChecklistError for an ansible step whose playbook (a path without placeholders, relative
    to the checklist) is not a file. Done on every load, not cached with the content: it
    depends on where the file is and on what is beside it."""
    missing: list[Finding] = []
    for i, stage in enumerate(model.stages):
        for key, steps in (("steps", stage.steps), ("rollback", stage.rollback)):
            for j, step in enumerate(steps):
                if step.kind != "ansible" or "{{" in step.playbook:
                    continue
                target = (path.parent / step.playbook).resolve()
                if not target.is_file():
                    what = "is not a file" if target.exists() else "not found"
                    msg = f"playbook {step.playbook!r} {what}: {target} (relative to the checklist)"
                    missing.append(Finding(("stages", i, key, j, "playbook"), "value", msg))
    if missing:
        from annotui.checklist.positions import PositionParser

        parser = PositionParser(text)
        parser.parse()
        raise ChecklistError([_diagnostic(f, parser.positions, file) for f in missing])


def _check_limits(file: str, text: str) -> None:
    """ChecklistError for text that exceeds a limit of :mod:`annotui.checklist.limits`: checked
    before any parser sees it, because the parsers are what such text breaks."""
    exceeded = limits.prescan(text)
    if exceeded is not None:
        line = text.count("\n", 0, exceeded.offset) + 1
        col = exceeded.offset - (text.rfind("\n", 0, exceeded.offset) + 1) + 1
        raise ChecklistError([Diagnostic(file, line, col, exceeded.message)])


def _fast_load(text: str) -> Checklist | None:
    """The common case, a valid file, without the position-tracking parser (tomlkit is ~10x
    slower than tomllib): None whenever anything is wrong, so the slow path finds and places it."""
    import tomllib

    from annotui.checklist import references
    from annotui.checklist.schema_errors import validate

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return None
    if not data:
        return None
    model, findings = validate(data)
    if findings or model is None or references.check(data):
        return None
    return model


def _at_most(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The first MAX_DIAGNOSTICS in source order, and a last line that counts the others."""
    if len(diagnostics) <= MAX_DIAGNOSTICS:
        return diagnostics
    ordered = sorted(diagnostics, key=lambda d: (d.line, d.col))
    rest = ordered[MAX_DIAGNOSTICS]
    more = len(ordered) - MAX_DIAGNOSTICS
    message = f"... and {more:,} more problems not shown: fix the ones above first"
    return [*ordered[:MAX_DIAGNOSTICS], Diagnostic(rest.file, rest.line, rest.col, message)]


def _load_with_positions(file: str, text: str) -> Checklist:
    """The validated model, or ChecklistError placing every problem at FILE:LINE:COL."""
    from tomlkit.exceptions import TOMLKitError

    from annotui.checklist import references
    from annotui.checklist.positions import PositionParser
    from annotui.checklist.schema_errors import validate

    parser = PositionParser(text)
    try:
        data = parser.parse().unwrap()
    except TOMLKitError as exc:
        raise ChecklistError([_syntax_error(exc, parser.positions, file)]) from None
    except (ValueError, RecursionError) as exc:  # within the limits this is not expected
        message = f"TOML syntax error: cannot read this file ({type(exc).__name__}: {exc})"
        raise ChecklistError([Diagnostic(file, 1, 1, message)]) from None
    if not data:
        raise ChecklistError([Diagnostic(file, 1, 1, EMPTY)])
    model, findings = validate(data)
    findings += references.check(data)
    diagnostics = _at_most(
        list(dict.fromkeys(_diagnostic(f, parser.positions, file) for f in findings))
    )
    if diagnostics or model is None:
        raise ChecklistError(diagnostics or [Diagnostic(file, 1, 1, "invalid checklist")])
    return model
