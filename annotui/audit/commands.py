"""`annotui audit verify|show|report|checkpoint|sign-off|approve` handlers. Exit codes: 0 fine,
1 the log is not intact or not proven (verify: a bad line, a seal or sign-off that does not
verify, an expected head missing), 2 bad input (missing or unreadable file, unknown step,
unwritable output, a key that cannot sign), 3 intact but unsealed (verify, checkpoint, sign-off).

Every problem is one line on stderr, printable whatever the log holds (``annotui.text``); a
record that its readers cannot use is marked where it is shown (``annotui.audit.shape``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from annotui.audit import proof
from annotui.audit.errors import AuditError
from annotui.audit.report import write
from annotui.audit.show import show
from annotui.audit.sshsig import AllowedSigners
from annotui.audit.verify import VerifyResult, verify
from annotui.text import one_line

UNSEALED = 3


def _verify(path: Path, allowed: str | None, expect: list[str]) -> int:
    expected = [proof.parse_expect(e) for e in expect]
    signers = AllowedSigners(Path(allowed)) if allowed else None
    result = verify(path)
    print(result.describe(path))
    if not result.ok:
        return 1
    code = 0 if result.sealed else UNSEALED
    for seq, digest in expected:
        found = proof.record_hash(path, seq)
        if found != digest:
            has = f"has {found}" if found else f"has no record {seq}"
            print(f"{one_line(path)}: expected record {seq} with hash {digest}, the log {has}")
            code = 1
        else:
            print(f"expected head found: record {seq} has hash {digest}")
    for checked in proof.check_seals(result, signers):
        s = checked.seal
        where = f"seal seq {s.seq} ({one_line(s.covers)})"
        if checked.problem is not None:
            print(f"{one_line(path)}:{s.seq + 1}: {where}: {one_line(checked.problem)}")
            code = 1
        elif checked.principal is not None:
            print(f"{where}: signed by {one_line(checked.principal)} ({s.key})")
        elif s.key is not None:
            print(f"{where}: signed by key {s.key} (give --allowed-signers to check whose)")
        else:
            print(f"{where}: unsigned")
    code = _signoffs(path, result, signers, code)
    return code


def _signoffs(path: Path, result: VerifyResult, signers: AllowedSigners | None, code: int) -> int:
    where = proof.signoff_path(path)
    for so in proof.read_signoffs(path, result, signers):
        if so.problem is not None:
            print(f"{one_line(where)}:{so.line}: sign-off REJECTED: {one_line(so.problem)}")
            code = 1
            continue
        who = one_line(so.principal) if so.principal else "(signer not checked)"
        note = f": {one_line(so.note)}" if so.note else ""
        print(f"signed off by {who} ({so.key}) at {one_line(so.ts)}{note}")
    return code


def _approve(path: Path, step_key: str, key: str, note: str) -> int:
    from annotui.audit.approvals import approve

    print(approve(path, step_key, key, note))
    return 0


def _checkpoint(path: Path) -> int:
    result = verify(path)
    if not result.ok or not result.sealed:
        print(result.describe(path), file=sys.stderr)
        return 1 if not result.ok else UNSEALED
    sys.stdout.write(proof.checkpoint(result))
    return 0


def _sign_off(path: Path, key: str, note: str) -> int:
    try:
        print(proof.sign_off_log(path, key, note))
    except proof.NotSealed as e:
        print(f"annotui audit sign-off: {e}", file=sys.stderr)
        return e.code
    return 0


def _report(path: Path, fmt: str, output: str | None, allowed: str | None) -> int:
    """The report, streamed (the HTML page holds every step's whole output)."""
    signers = AllowedSigners(Path(allowed)) if allowed else None
    if output is None:
        write(path, fmt, sys.stdout, signers)
        return 0
    target = Path(output)
    if target.exists() and target.samefile(path):
        raise AuditError(f"refusing to write the report over the audit log {one_line(path)}")
    try:
        with open(target, "w", encoding="utf-8") as out:
            write(path, fmt, out, signers)
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
            return _verify(path, args.allowed_signers, args.expect)
        if args.audit_command == "checkpoint":
            return _checkpoint(path)
        if args.audit_command == "sign-off":
            return _sign_off(path, args.sign_with, args.note)
        if args.audit_command == "approve":
            return _approve(path, args.step, args.sign_with, args.note)
        if args.audit_command == "show":
            return show(path, args.step)
        return _report(path, args.format, args.output, args.allowed_signers)
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
