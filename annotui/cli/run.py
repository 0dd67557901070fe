"""`annotui run --plain`: line mode, driven by the engine's session with a plain operator."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from annotui.engine.prepare import prepare
from annotui.signals import ignore_stop_signals, stop_on_signals

if TYPE_CHECKING:
    from annotui.checklist.loader import LoadedChecklist
    from annotui.engine.options import RunOptions

DOUBLE_CTRL_C = 3.0


def run(args: argparse.Namespace) -> int:
    """`annotui run --plain` (the cockpit is `screens.launch.run_cockpit`, chosen by the CLI)."""
    prepared = prepare(args)
    if prepared is None:
        return 2
    loaded, options = prepared
    if sys.stdin.isatty():
        options.ssh_options["passphrase_prompt"] = getpass.getpass  # never echoed, never logged
    return asyncio.run(run_plain(loaded, options, args.file))


def resume_command(checklist: str, options: RunOptions, audit_path: Path) -> str:
    """The command that resumes this run, as the operator can paste it: the checklist as they
    named it (a bundled name stays a name, a path is made absolute), the vars file (so a secret
    in it is not asked again), the mode and the log."""
    named = checklist if not Path(checklist).exists() else str(Path(checklist).resolve())
    parts = ["annotui", "run", named, "--plain"]
    if options.rehearse:
        parts.append("--rehearse")
    if options.vars_file is not None:
        parts += ["--vars-file", str(Path(options.vars_file).resolve())]
    parts += ["--resume", "--audit", str(Path(audit_path).resolve())]
    return shlex.join(parts)


async def run_plain(loaded: LoadedChecklist, options: RunOptions, checklist: str = "") -> int:
    from annotui.engine.errors import AuditLost, SessionError
    from annotui.engine.plain import PlainOperator, PlainPresenter, StdinLines
    from annotui.engine.session import Session, operator_name

    loop = asyncio.get_running_loop()
    out = sys.stdout
    from annotui.engine.answers import AnswersError, load_answers

    try:
        answers = load_answers(options.answers) if options.answers else {}
    except AnswersError as e:
        print(f"annotui: {e}", file=sys.stderr)
        return 2
    operator = PlainOperator(operator_name(), out, StdinLines(loop), options.yes, answers)
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
    stop_on_signals(loop, lambda name: session.request_stop(f"{name} received"))
    try:
        code = await session.run()
    except SessionError as e:
        print(f"annotui: {e}", file=sys.stderr)
        return 2
    except AuditLost as e:  # one line: what, where, and that the command was stopped
        print(f"annotui: {e}", file=sys.stderr)
        return 4
    finally:
        ignore_stop_signals()
    print(f"audit log: {session.audit_path}", file=sys.stderr)
    if code == 3:
        named = checklist or str(loaded.path)
        print(f"resume with: {resume_command(named, options, session.audit_path)}", file=sys.stderr)
    return code
