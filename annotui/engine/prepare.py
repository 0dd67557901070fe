"""Everything `annotui run` checks before a session starts, for plain mode and the cockpit."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from annotui.engine.vars import VarError, parse_assignments

if TYPE_CHECKING:
    from annotui.checklist.loader import LoadedChecklist
    from annotui.engine.options import RunOptions


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """RunOptions from the parsed `run` arguments (raises VarError for a bad --var)."""
    from annotui.engine.options import RunOptions

    if args.resume and not args.audit:
        raise VarError("--resume needs --audit PATH (the log of the run to continue)")
    signers = getattr(args, "allowed_signers", None)  # the demo's arguments have neither
    return RunOptions(
        cli_vars=parse_assignments(args.var),
        vars_file=Path(args.vars_file) if args.vars_file else None,
        rehearse=args.rehearse,
        audit_path=Path(args.audit).absolute() if args.audit else None,
        resume=args.resume,
        yes=args.yes,
        allow_changed_checklist=args.allow_changed_checklist,
        notify=args.notify,
        sign_with=getattr(args, "sign_with", None) or os.environ.get("ANNOTUI_SIGN_WITH") or None,
        allowed_signers=Path(signers).absolute() if signers else None,
        answers=_answers(args),
        argv=sys.argv[1:],
    )


def _answers(args: argparse.Namespace) -> Path | None:
    given = getattr(args, "answers", None)
    if given and not getattr(args, "plain", False):
        raise VarError("--answers works with --plain (the cockpit asks the person at it)")
    return Path(given).absolute() if given else None


def prepare(args: argparse.Namespace) -> tuple[LoadedChecklist, RunOptions] | None:
    """The validated checklist and the options of `annotui run`, or None after saying on stderr
    why not (bad input, exit 2): FILE:LINE:COL for a broken checklist, before any TUI. Cheap for
    a file validated before: its tables come from the cache."""
    from annotui.checklist.loader import ChecklistError, load_checklist, resolve_checklist

    try:
        return load_checklist(resolve_checklist(args.file)), options_from_args(args)
    except ChecklistError as e:
        for d in e.diagnostics:
            print(d, file=sys.stderr)
    except VarError as e:
        print(f"annotui: {e}", file=sys.stderr)
    return None
