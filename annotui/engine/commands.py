"""`annotui run`: the cockpit by default, `--plain` for line mode."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from annotui.engine.vars import VarError, parse_assignments

if TYPE_CHECKING:
    from annotui.checklist.loader import LoadedChecklist
    from annotui.engine.options import RunOptions

DOUBLE_CTRL_C = 3.0


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """RunOptions from the parsed `run` arguments (raises VarError for a bad --var)."""
    from annotui.engine.options import RunOptions

    if args.resume and not args.audit:
        raise VarError("--resume needs --audit PATH (the log of the run to continue)")
    return RunOptions(
        cli_vars=parse_assignments(args.var),
        vars_file=Path(args.vars_file) if args.vars_file else None,
        rehearse=args.rehearse,
        audit_path=Path(args.audit).absolute() if args.audit else None,
        resume=args.resume,
        yes=args.yes,
        allow_changed_checklist=args.allow_changed_checklist,
        argv=sys.argv[1:],
    )


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


def run(args: argparse.Namespace) -> int:
    if not args.plain:
        # The cockpit validates before it takes the terminal, and paints its first frame
        # before the engine is imported.
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            print(
                "annotui: the cockpit needs a terminal; use --plain for line mode", file=sys.stderr
            )
            return 2
        from screens.launch import run_cockpit

        return run_cockpit(args)
    prepared = prepare(args)
    if prepared is None:
        return 2
    loaded, options = prepared
    if sys.stdin.isatty():
        options.ssh_options["passphrase_prompt"] = getpass.getpass  # never echoed, never logged
    return asyncio.run(run_plain(loaded, options))


async def run_plain(loaded: LoadedChecklist, options: RunOptions) -> int:
    from annotui.engine.plain import PlainOperator, PlainPresenter, StdinLines
    from annotui.engine.session import Session, SessionError, operator_name

    loop = asyncio.get_running_loop()
    out = sys.stdout
    operator = PlainOperator(operator_name(), out, StdinLines(loop), options.yes)
    session = Session(loaded, options, operator, [PlainPresenter(out)])
    last_int = [0.0]

    def on_sigint() -> None:
        now = time.monotonic()
        if not session.step_running:
            session.request_stop("Ctrl-C")
        elif now - last_int[0] <= DOUBLE_CTRL_C:
            session.cancel_step()
        else:
            last_int[0] = now
            print(
                "\n  ! Ctrl-C: press it again within 3 s to cancel the running step",
                file=sys.stderr,
                flush=True,
            )

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, session.request_stop, f"{signal.Signals(sig).name} received")
    try:
        code = await session.run()
    except SessionError as e:
        print(f"annotui: {e}", file=sys.stderr)
        return 2
    print(f"audit log: {session.audit_path}", file=sys.stderr)
    if code == 3:
        print(
            f"resume with: annotui run {loaded.path} --plain --resume --audit {session.audit_path}",
            file=sys.stderr,
        )
    return code
