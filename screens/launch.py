"""Entry points of the UI: `annotui run` (the cockpit), `annotui demo`, `annotui review`.

`annotui.cli` calls `run_cockpit(args)` lazily when `--plain` is not given.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from annotui.engine.prepare import prepare
from annotui.signals import ignore_stop_signals

DEMO_CHECKLIST = "anno-release"


def _has_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def terminal_size() -> tuple[int, int]:
    """The terminal's size, for `App.run(size=...)`: the driver reports it only once running, so
    without it Textual lays the first screen out at a guessed 80x25, then again at the real size."""
    columns, lines = shutil.get_terminal_size()
    return columns, lines


def run_cockpit(
    args: argparse.Namespace,
    *,
    resumable: bool = True,
    place: str = "",
    on_abandon: Callable[[], object] | None = None,
) -> int:
    """Open the cockpit on `args.file` with the `run` options; returns the run's exit code.

    It validates before it takes the terminal, and paints its first frame before the engine is
    imported."""
    if not _has_terminal():
        print("annotui: the cockpit needs a terminal; use --plain for line mode", file=sys.stderr)
        return 2
    from screens.app import CockpitApp

    prepared = prepare(args)
    if prepared is None:
        return 2
    _, options = prepared  # the Welcome loads the file again on Start (a cache hit)
    app = CockpitApp(args.file, options)
    app.resumable = resumable
    app.place = place
    if on_abandon is not None:
        app.on_abandon.append(on_abandon)
    try:
        code = app.run(size=terminal_size())
    finally:
        ignore_stop_signals()  # the run is over: a late SIGTERM/SIGHUP must not kill the exit
    with contextlib.suppress(OSError):  # after SIGHUP there may be no terminal to write to
        session = app.session
        if session is not None:
            print(f"audit log: {session.audit_path}", file=sys.stderr)
            if (app.exit_code is None or app.exit_code == 3) and resumable:
                print(f"resume with: {app.resume_command()}", file=sys.stderr)
            elif app.exit_code is None or app.exit_code == 3:
                print(
                    "the demo's sandbox is removed on exit, so this run cannot be resumed; "
                    "build a lasting one with `annotui sandbox DIR`",
                    file=sys.stderr,
                )
        if app.error:
            print(f"annotui: {app.error}", file=sys.stderr)
    if code is None:  # the app ended without an exit code (closed before the run finished)
        return app.exit_code if app.exit_code is not None else 3
    return int(code)


def demo(args: argparse.Namespace) -> int:
    """Build the sandbox in a temporary directory, open the cockpit on anno-release against it,
    and stop the sandbox on the way out, whatever happens."""
    if not _has_terminal():
        print("annotui demo: needs a terminal (stdin and stdout are not a TTY)", file=sys.stderr)
        return 2
    from annotui import sandbox

    where = Path(tempfile.mkdtemp(prefix="annotui-demo-"))
    try:
        info = sandbox.build(where)
        run_args = argparse.Namespace(
            file=DEMO_CHECKLIST,
            var=[],
            vars_file=str(info.vars_file),
            rehearse=False,
            audit=None,
            resume=False,
            plain=False,
            yes=False,
            allow_changed_checklist=False,
            notify=False,
        )
        return run_cockpit(
            run_args,
            resumable=False,
            place="the local sandbox",
            on_abandon=lambda: sandbox.stop(where),
        )
    finally:
        sandbox.stop(where)
        shutil.rmtree(where, ignore_errors=True)


SERVED_ENV = ("TEXTUAL_DRIVER", "TEXTUAL_FPS", "TEXTUAL_COLOR_SYSTEM", "TERM_PROGRAM",
              "TERM_PROGRAM_VERSION", "COLUMNS", "ROWS")  # fmt: skip
"""What textual-serve sets for the app it starts: the only variables a served session gets,
with PATH, LANG and an empty HOME (no SSH_AUTH_SOCK, no secrets, no tokens)."""


def served_command(path: Path, home: Path) -> str:
    """The shell command textual-serve runs for each browser session: the read-only viewer of
    `path` in a scrubbed environment."""
    keep = " ".join(f'{name}="${{{name}}}"' for name in SERVED_ENV)
    bin_dir = Path(sys.executable).parent
    return (
        f"exec env -i {keep} PATH={shlex.quote(f'{bin_dir}:/usr/bin:/bin')} LANG=C.UTF-8 "
        f"HOME={shlex.quote(str(home))} {shlex.quote(sys.executable)} -m annotui.cli review "
        f"{shlex.quote(str(path))} --served"
    )


def serve_review(path: Path, host: str, port: int) -> int:
    """`annotui review PATH --serve`: the viewer in a browser, through textual-serve."""
    if not 0 < port < 65536:
        print(f"annotui review: --port {port}: not a TCP port (1-65535)", file=sys.stderr)
        return 2
    from textual_serve.server import Server

    with tempfile.TemporaryDirectory(prefix="annotui-review-") as home:
        os.chmod(home, 0o500)  # a session cannot write even there
        server = Server(
            served_command(path.resolve(), Path(home)),
            host=host,
            port=port,
            title=f"annotui review {path.name}",
        )
        print(f"annotui review: serving {path} on http://{host}:{port}", file=sys.stderr)
        server.serve()
    return 0


def review(args: argparse.Namespace) -> int:
    """`annotui review PATH`: the audit viewer, read-only, following the log; with --serve, in
    a browser."""
    path = Path(args.path)
    if not path.is_file():
        print(f"annotui review: no such file: {path}", file=sys.stderr)
        return 2
    if args.serve:
        return serve_review(path, args.host, args.port)
    if args.served:  # a session of --serve: the web driver, no terminal
        from screens.audit_viewer import ReviewApp

        ReviewApp(path, served=True).run()
        return 0
    if not _has_terminal():
        print("annotui review: needs a terminal; use `annotui audit show`", file=sys.stderr)
        return 2
    from screens.audit_viewer import ReviewApp

    key = args.sign_with or os.environ.get("ANNOTUI_SIGN_WITH") or None
    ReviewApp(path, sign_with=key).run(size=terminal_size())
    return 0
