"""`annotui audit verify|show|report` handlers. Exit codes: 0 fine, 1 the log is not intact
(verify), 2 bad input (missing or unreadable file, unknown step, unwritable output).

Every problem is one line on stderr, printable whatever the log holds (``annotui.text``); a
record that its readers cannot use is marked where it is shown (``annotui.audit.shape``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from annotui.audit.errors import AuditError
from annotui.audit.report import render
from annotui.audit.show import show
from annotui.audit.verify import verify
from annotui.text import one_line


def _verify(path: Path) -> int:
    result = verify(path)
    print(result.describe(path))
    return 0 if result.ok else 1


def _report(path: Path, fmt: str, output: str | None) -> int:
    text = render(path, fmt)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as e:
        print(
            f"annotui audit report: cannot write {one_line(output)}: {e.strerror}", file=sys.stderr
        )
        return 2
    print(f"report written to {one_line(output)}", file=sys.stderr)
    return 0


def main(args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        if not path.is_file():
            raise AuditError(f"no audit log at {path}")
        if args.audit_command == "verify":
            return _verify(path)
        if args.audit_command == "show":
            return show(path, args.step)
        return _report(path, args.format, args.output)
    except AuditError as e:
        print(f"annotui audit {args.audit_command}: {one_line(e)}", file=sys.stderr)
        return 2
    except (BrokenPipeError, KeyboardInterrupt):
        raise  # the CLI's own handling: a closed pipe is fine, Ctrl+C exits 3
    except Exception as e:  # a bug: still one line, never a traceback
        print(
            f"annotui audit {args.audit_command}: internal error "
            f"({type(e).__name__}: {one_line(e)}); please report it",
            file=sys.stderr,
        )
        return 2
