"""Command-line parsing and dispatch. Handlers are imported lazily, so `annotui check` never pays
for paramiko or textual. A handler that drives one room lives in it (`check`, `audit`,
`sandbox`); one that needs several lives here (`run --plain`, `status`). The UI is reached from
this table only (`UI_HANDLERS`): no other part of `annotui` imports the screens.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from annotui import __version__

HANDLERS = {
    "check": "annotui.checklist.commands:check",
    "schema": "annotui.checklist.commands:schema",
    "run": "annotui.cli.run:run",
    "audit": "annotui.audit.commands:main",
    "sandbox": "annotui.sandbox:main",
    "status": "annotui.cli.status:status",
}
UI_HANDLERS = {
    "run": "screens.launch:run_cockpit",
    "demo": "screens.launch:demo",
    "review": "screens.launch:review",
}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="set a var (repeatable)"
    )
    p.add_argument(
        "--vars-file",
        metavar="PATH",
        help="TOML file of var values (e.g. the one `annotui sandbox` writes)",
    )


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="annotui", description="A terminal cockpit for guided, audited deployments.")
    p.add_argument("--version", action="version", version=f"annotui {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    c = sub.add_parser("check", help="validate checklists (FILE:LINE:COL: message; exit 2)")
    c.add_argument("files", nargs="+", metavar="FILE", help="a path or a bundled checklist name")

    sub.add_parser("schema", help="print the JSON Schema of the checklist format")

    r = sub.add_parser("run", help="run a checklist (the cockpit, or --plain)")
    r.add_argument("file", metavar="FILE", help="a path or a bundled checklist name")
    add_run_options(r)
    r.add_argument(
        "--rehearse",
        action="store_true",
        help="dry run: read-only steps run, changes are simulated",
    )
    r.add_argument("--audit", metavar="PATH", help="audit log path (default: state directory)")
    r.add_argument("--resume", action="store_true", help="continue the run recorded in --audit")
    r.add_argument("--plain", action="store_true", help="line mode: no TUI, works without a TTY")
    r.add_argument("--yes", action="store_true", help="answer ordinary confirmations with yes")
    r.add_argument(
        "--answers",
        metavar="FILE",
        help="plain mode: a TOML table of answers by step key (answer, word, evidence, reason)",
    )
    r.add_argument(
        "--allow-changed-checklist",
        action="store_true",
        help="resume even though the checklist changed since the run began",
    )
    r.add_argument(
        "--notify",
        action="store_true",
        help="in rehearsal, send the [[notify]] notifications too (marked REHEARSAL)",
    )

    r.add_argument(
        "--sign-with",
        metavar="KEY",
        help="sign every seal with this SSH key: a private key file, or a public key whose "
        "private half is in ssh-agent (also ANNOTUI_SIGN_WITH)",
    )
    r.add_argument(
        "--allowed-signers",
        metavar="FILE",
        help="OpenSSH allowed_signers file of the approvers (overrides [checklist] "
        "allowed_signers)",
    )

    a = sub.add_parser("audit", help="verify, show or report an audit log")
    asub = a.add_subparsers(dest="audit_command", required=True, parser_class=Parser)
    v = asub.add_parser(
        "verify",
        help="exit 0 intact and sealed; 1 naming the first bad line; 3 intact but unsealed",
    )
    v.add_argument("path", metavar="PATH")
    v.add_argument(
        "--allowed-signers",
        metavar="FILE",
        help="every seal must be signed by a principal of this OpenSSH allowed_signers file",
    )
    v.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="the log must hold this record (from a checkpoint posted elsewhere; repeatable)",
    )
    cp = asub.add_parser("checkpoint", help="a few lines to paste: origin, size, head, signature")
    cp.add_argument("path", metavar="PATH")
    so = asub.add_parser("sign-off", help="sign the final seal as a reviewer (PATH.signoffs)")
    so.add_argument("path", metavar="PATH")
    so.add_argument("--sign-with", metavar="KEY", required=True, help="your SSH key")
    so.add_argument("--note", metavar="TEXT", default="", help="a note signed with it")
    ap = asub.add_parser("approve", help="approve a run's approval step from another terminal")
    ap.add_argument("path", metavar="PATH", help="the audit log of the waiting run")
    ap.add_argument("--step", metavar="STEP_KEY", required=True, help="the approval step's key")
    ap.add_argument("--sign-with", metavar="KEY", required=True, help="your SSH key")
    ap.add_argument("--note", metavar="TEXT", default="", help="a note signed with it")

    s = asub.add_parser("show", help="human-readable timeline")
    s.add_argument("path", metavar="PATH")
    s.add_argument("--step", metavar="ID", help="only this step (id or stage/step key)")
    rep = asub.add_parser("report", help="a report for the release issue")
    rep.add_argument("path", metavar="PATH")
    rep.add_argument("--format", choices=["markdown", "html"], default="markdown")
    rep.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    rep.add_argument(
        "--allowed-signers",
        metavar="FILE",
        help="name the signer of each seal and sign-off from this OpenSSH allowed_signers file",
    )

    sb = sub.add_parser("sandbox", help="build (or --stop) a local rehearsal world")
    sb.add_argument("dir", nargs="?", metavar="DIR", help="where (default: ./annotui-sandbox)")
    sb.add_argument("--stop", action="store_true", help="stop the sandbox's supervisord")

    sub.add_parser("demo", help="sandbox + the cockpit on anno-release against it")

    st = sub.add_parser("status", help="probes, supervisor processes and hosts")
    st.add_argument("file", metavar="FILE")
    add_run_options(st)
    st.add_argument("--watch", action="store_true", help="refresh until Ctrl+C")

    rv = sub.add_parser("review", help="open the audit viewer (read-only)")
    rv.add_argument("path", metavar="PATH")
    rv.add_argument(
        "--serve",
        action="store_true",
        help="serve the viewer to a browser (textual-serve; reach it from afar with ssh -L)",
    )
    rv.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000)")
    rv.add_argument(
        "--host", default="127.0.0.1", help="address for --serve (default 127.0.0.1: loopback)"
    )
    rv.add_argument("--served", action="store_true", help=argparse.SUPPRESS)
    rv.add_argument(
        "--sign-with",
        metavar="KEY",
        help="the SSH key the sign-off (s) and approve (a) actions offer (also ANNOTUI_SIGN_WITH)",
    )
    return p


def handler_name(args: argparse.Namespace) -> str:
    """`module:function` of the command's handler: `run` opens the cockpit unless --plain."""
    if args.command == "run" and args.plain:
        return HANDLERS["run"]
    return UI_HANDLERS.get(args.command) or HANDLERS[args.command]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, func = handler_name(args).split(":")
    try:  # a Ctrl-C while the handler's modules load is an interrupt too, not a traceback
        handler = getattr(importlib.import_module(module), func)
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("annotui: interrupted", file=sys.stderr)
        return 3
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
