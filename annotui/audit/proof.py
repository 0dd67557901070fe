"""What a reviewer checks beyond the chain: seal signatures, expected heads, the checkpoint and
sign-offs (``PATH.signoffs``). ``verify`` (annotui.audit.verify) judges the chain and where each
seal sits; this module asks ``ssh-keygen`` who signed (annotui.audit.sshsig).

A sign-off is one JSON line in ``PATH.signoffs`` (the sealed log itself never changes):
``{"signed": TEXT, "signature": ARMORED, "key": "SHA256:...", "ts": ..., "note": ...}`` where
TEXT is exactly::

    annotui-audit-signoff v1
    log: <hash of the log's first record>
    seq: <seq of the final seal>
    head: <the final seal's head>
    time: <UTC time of the sign-off>
    note: <the note, one line>

signed with namespace ``annotui-signoff``.
"""

from __future__ import annotations

import base64
import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from annotui.audit.errors import AuditError
from annotui.audit.lines import Lines
from annotui.audit.seal import SealInfo
from annotui.audit.sshsig import (
    AUDIT_NAMESPACE,
    SIGNOFF_NAMESPACE,
    AllowedSigners,
    SignError,
    check_novalidate,
    key_fingerprint,
    sign,
    signature_blob,
)
from annotui.audit.verify import VerifyResult, verify
from annotui.text import one_line

SIGNOFF_HEADER = "annotui-audit-signoff v1"
ORIGIN = "annotui-audit"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def final_seal(result: VerifyResult) -> SealInfo | None:
    """The seal that closes a sealed log, else None."""
    return result.seals[-1] if result.ok and result.sealed and result.seals else None


# ---- expected heads ----------------------------------------------------------------------


def parse_expect(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (raises AuditError)."""
    seq, _, digest = text.partition(":")
    digest = digest.strip().lower()
    if (
        not seq.strip().isdigit()
        or len(digest) != 64
        or not all(c in "0123456789abcdef" for c in digest)
    ):
        raise AuditError(
            f"--expect {one_line(text)!r}: expected SEQ:HASH (a seq and 64 hex digits)"
        )
    return int(seq), digest


def record_hash(path: Path, seq: int) -> str | None:
    """The hash of record ``seq`` of an intact log (its line's hash member), else None."""
    with open(path, "rb") as f:
        n = 0
        for batch in Lines(f).batches():
            if seq < n + len(batch):
                line = batch[seq - n]
                return line[-66:-2].decode("ascii", "replace")
            n += len(batch)
    return None


# ---- seals and who signed them -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SealSigner:
    seal: SealInfo
    principal: str | None
    """Who signed it (None: not checked, or unsigned)."""
    problem: str | None
    """Why it does not verify (then the log is not proven)."""


def check_seals(result: VerifyResult, signers: AllowedSigners | None) -> list[SealSigner]:
    """Each seal with its signer: with ``signers``, every seal must be signed by one of them."""
    checked = []
    for s in result.seals:
        principal = problem = None
        if s.signature is None:
            problem = "seal is not signed" if signers is not None else None
        else:
            try:
                named = key_fingerprint(s.signature)
                if s.key != named:
                    problem = f"seal names key {s.key} but is signed by {named}"
                elif signers is not None:
                    principal = signers.check(s.signed, s.signature, AUDIT_NAMESPACE, s.ts)
            except SignError as e:
                problem = str(e)
        checked.append(SealSigner(s, principal, problem))
    return checked


# ---- the checkpoint ----------------------------------------------------------------------


def checkpoint(result: VerifyResult) -> str:
    """A few lines to paste into the release issue, in the spirit of C2SP tlog-checkpoint: the
    body (origin, size, head hash in base64, then the head in hex and the ``--expect`` it
    gives), a blank line, and one line per signature (``— KEY BASE64``), the signature of the
    final seal, whose signed text the body's first three lines determine. Raises AuditError
    for a log that is not intact and sealed."""
    seal = final_seal(result)
    if seal is None:
        raise AuditError("no checkpoint: the log is not intact and sealed (see audit verify)")
    assert result.first_hash is not None
    return seal_checkpoint(result.first_hash, seal)


def seal_checkpoint(log: str, seal: SealInfo) -> str:
    """The checkpoint of any one seal of the log whose first record's hash is `log` (for the
    final seal: `checkpoint`; a seal in the middle pins everything before it)."""
    head = seal.head
    lines = [
        f"{ORIGIN}/{log}",
        str(seal.seq),
        base64.b64encode(bytes.fromhex(head)).decode(),
        f"head {head}",
        f"expect {seal.seq - 1}:{head}",
        "",
    ]
    if seal.signature is not None:
        blob = base64.b64encode(signature_blob(seal.signature)).decode()
        lines.append(f"— {seal.key} {blob}")
    else:
        lines.append("— unsigned (the run had no --sign-with)")
    return "\n".join(lines) + "\n"


def last_seal_checkpoint(path: Path) -> str | None:
    """The checkpoint of the last seal of an intact log, sealed at its end or not (a run still
    going: the session_end notification tells it before the final seal), else None."""
    result = verify(path)
    if not (result.ok and result.seals and result.first_hash):
        return None
    return seal_checkpoint(result.first_hash, result.seals[-1])


def checkpoint_of(path: Path) -> str | None:
    """The checkpoint of the log at ``path``, or None when it is not intact and sealed (for a
    screen: the Summary shows it when the run has ended). Raises AuditError if unreadable."""
    result = verify(path)
    return checkpoint(result) if result.ok and result.sealed else None


# ---- sign-offs ---------------------------------------------------------------------------


def signoff_path(path: Path) -> Path:
    return path.with_name(path.name + ".signoffs")


def signoff_text(log: str, seal: SealInfo, time: str, note: str) -> str:
    return (
        f"{SIGNOFF_HEADER}\nlog: {log}\nseq: {seal.seq}\nhead: {seal.head}\n"
        f"time: {time}\nnote: {note}\n"
    )


def clean_note(note: str) -> str:
    """A note fit to sign: one line of printable text (raises AuditError)."""
    if any(c in note for c in "\n\r") or not note.isprintable():
        raise AuditError("--note: one line of printable text, please")
    return note.strip()


def load_line(line: bytes) -> Any:
    """The JSON value of one line of a sidecar file, None where it is not JSON."""
    with contextlib.suppress(orjson.JSONDecodeError):
        return orjson.loads(line)
    return None


def append_entry(target: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` as one JSON line to ``target`` (never through a link) and fsync it."""
    try:
        fd = os.open(
            target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644
        )
    except OSError as e:
        raise AuditError(f"cannot write {one_line(target)}: {e.strerror}") from None
    try:
        os.write(fd, orjson.dumps(entry) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def sign_off(path: Path, result: VerifyResult, key: str, note: str) -> dict[str, Any]:
    """Sign the final seal's head with ``key`` and append the sign-off to ``PATH.signoffs``."""
    seal = final_seal(result)
    if seal is None or result.first_hash is None:
        raise AuditError("nothing to sign off: the log is not intact and sealed")
    note = clean_note(note)
    time = utc_now()
    text = signoff_text(result.first_hash, seal, time, note)
    sig = sign(key, text, SIGNOFF_NAMESPACE)
    entry = {"signed": text, "signature": sig.armored, "key": sig.key, "ts": time, "note": note}
    append_entry(signoff_path(path), entry)
    return entry


class NotSealed(AuditError):
    """The log cannot be signed off: not intact (``code`` 1) or not sealed (``code`` 3)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def sign_off_log(path: Path, key: str, note: str) -> str:
    """``annotui audit sign-off`` (and the review viewer's sign-off): verify the log, sign its
    final seal with ``key``, append the sign-off to ``PATH.signoffs``; returns what was done,
    in one line. Raises NotSealed, or AuditError (SignError: the key cannot sign)."""
    result = verify(path)
    if not result.ok or not result.sealed:
        raise NotSealed(result.describe(path), 1 if not result.ok else 3)
    entry = sign_off(path, result, key, note)
    return (
        f"signed off {one_line(path)} (the final seal, seq {result.seals[-1].seq}) "
        f"with {entry['key']}; recorded in {one_line(signoff_path(path))}"
    )


@dataclass(frozen=True, slots=True)
class SignOff:
    line: int
    key: str
    ts: str
    note: str
    principal: str | None
    """Who signed it (None when not checked: no allowed signers given)."""
    problem: str | None
    """Why it is rejected (forged, for another log or head, not an allowed signer)."""


def read_signoffs(
    path: Path, result: VerifyResult, signers: AllowedSigners | None
) -> list[SignOff]:
    """Every sign-off of ``PATH.signoffs`` (none if there is no such file), each judged: it
    must sign this log's final seal, and with ``signers`` verify for one of them."""
    target = signoff_path(path)
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise AuditError(f"cannot read {one_line(target)}: {e.strerror}") from None
    seal = final_seal(result)
    found = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        entry = load_line(line)
        if not isinstance(entry, dict):
            found.append(SignOff(number, "?", "?", "", None, "not a JSON object"))
            continue
        fields = [entry.get(k) for k in ("key", "ts", "note", "signed", "signature")]
        if not all(isinstance(v, str) for v in fields):
            why = "fields missing or not strings"
            found.append(SignOff(number, str(fields[0]), str(fields[1]), "", None, why))
            continue
        key, ts, note, text, armored = (str(v) for v in fields)
        problem = principal = None
        if seal is None or result.first_hash is None:
            problem = "the log is not intact and sealed"
        elif text != signoff_text(result.first_hash, seal, ts, note):
            problem = "does not sign this log's final seal (another log, head, time or note)"
        else:
            try:
                if key_fingerprint(armored) != key:
                    problem = f"names key {key} but is signed by {key_fingerprint(armored)}"
                elif signers is not None:
                    principal = signers.check(text, armored, SIGNOFF_NAMESPACE, ts)
                else:
                    check_novalidate(text, armored, SIGNOFF_NAMESPACE)
            except SignError as e:
                problem = str(e)
        found.append(SignOff(number, key, ts, note, principal, problem))
    return found
