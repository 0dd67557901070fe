"""OpenSSH signatures (``ssh-keygen -Y``): the only signing and checking annotui does.

Signing runs the real ``ssh-keygen -Y sign -n NAMESPACE -f KEY`` with the text on stdin: KEY is
what ``-f`` accepts, a private key file or a public key whose private half is in ssh-agent
(``SSH_AUTH_SOCK``). ssh-keygen runs in its own session with ``SSH_ASKPASS_REQUIRE=never``, so
it never asks for a passphrase on the terminal (a TUI owns it): an encrypted key is used through
the agent. Checking runs ``ssh-keygen -Y find-principals`` and ``-Y verify`` against an
``allowed_signers`` file, whose namespaces and validity dates OpenSSH itself honours.

A signature is parsed here only to read the key it names (``key_fingerprint``): trust comes
from ``ssh-keygen -Y verify``, never from that parse.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import os
import re
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from annotui.audit.errors import AuditError
from annotui.text import one_line

AUDIT_NAMESPACE = "annotui-audit"
SIGNOFF_NAMESPACE = "annotui-signoff"
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
SIGN_TIMEOUT = 60.0
"""Seconds ssh-keygen may take to sign (an agent that asks for confirmation)."""
PROBE_TEXT = "annotui signing probe\n"


class SignError(AuditError):
    """A text cannot be signed, or a signature cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Signature:
    armored: str
    """``-----BEGIN SSH SIGNATURE-----`` ... ``-----END SSH SIGNATURE-----`` with a newline."""
    key: str
    """The signing key's ``SHA256:`` fingerprint."""


def _string(blob: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(blob):
        raise SignError("not an SSH signature: cut short")
    (n,) = struct.unpack(">I", blob[at : at + 4])
    end = at + 4 + n
    if end > len(blob):
        raise SignError("not an SSH signature: cut short")
    return blob[at + 4 : end], end


def signature_blob(armored: str) -> bytes:
    """The SSHSIG bytes of an armored signature (raises SignError)."""
    text = armored.strip()
    if not (text.startswith(ARMOR_BEGIN) and text.endswith(ARMOR_END)):
        raise SignError("not an armored SSH signature (-----BEGIN SSH SIGNATURE-----)")
    body = text[len(ARMOR_BEGIN) : -len(ARMOR_END)]
    try:
        blob = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignError("not an SSH signature: bad base64") from None
    if not blob.startswith(b"SSHSIG"):
        raise SignError("not an SSH signature: no SSHSIG magic")
    return blob


def key_fingerprint(armored: str) -> str:
    """The ``SHA256:`` fingerprint of the public key an armored signature names."""
    blob = signature_blob(armored)
    key, _ = _string(blob, 10)  # after the magic (6) and the version (4)
    return "SHA256:" + base64.b64encode(hashlib.sha256(key).digest()).decode().rstrip("=")


def armored_from_blob(blob_b64: str) -> str:
    """The armored form of a signature given as one line of base64 (a checkpoint's)."""
    lines = [blob_b64[i : i + 70] for i in range(0, len(blob_b64), 70)]
    return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


def _env() -> dict[str, str]:
    return {**os.environ, "SSH_ASKPASS_REQUIRE": "never"}


def _sign_argv(key: str, namespace: str) -> list[str]:
    return ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", key]


def _signed(key: str, code: int | None, out: bytes, err: bytes) -> Signature:
    if code != 0:
        why = one_line(err.decode("utf-8", "replace").strip() or f"exit status {code}")
        raise SignError(f"cannot sign with {one_line(key)}: {why}")
    armored = out.decode("ascii", "replace")
    return Signature(armored, key_fingerprint(armored))


def _keygen(argv: list[str], data: bytes | None) -> subprocess.CompletedProcess[bytes]:
    """Run ssh-keygen on ``data`` in its own session, bounded by SIGN_TIMEOUT (its
    FileNotFoundError and TimeoutExpired are the caller's to word)."""
    return subprocess.run(
        argv,
        input=data,
        capture_output=True,
        env=_env(),
        timeout=SIGN_TIMEOUT,
        start_new_session=True,
        check=False,
    )


def sign(key: str, text: str, namespace: str) -> Signature:
    """Sign ``text`` (its UTF-8 bytes, exactly) with ``ssh-keygen -Y sign``; raises SignError."""
    try:
        proc = _keygen(_sign_argv(key, namespace), text.encode())
    except FileNotFoundError:
        raise SignError("cannot sign: ssh-keygen (OpenSSH) is not installed") from None
    except subprocess.TimeoutExpired:
        raise SignError(f"cannot sign with {one_line(key)}: ssh-keygen did not answer") from None
    return _signed(key, proc.returncode, proc.stdout, proc.stderr)


async def sign_async(key: str, text: str, namespace: str) -> Signature:
    """``sign`` without blocking the event loop (ssh-keygen as an asyncio subprocess)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *_sign_argv(key, namespace),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            start_new_session=True,
        )
    except FileNotFoundError:
        raise SignError("cannot sign: ssh-keygen (OpenSSH) is not installed") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(text.encode()), SIGN_TIMEOUT)
    except TimeoutError:
        raise SignError(f"cannot sign with {one_line(key)}: ssh-keygen did not answer") from None
    finally:
        if proc.returncode is None:  # timed out or cancelled: end our own child, by its pid
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    return _signed(key, proc.returncode, out, err)


def probe(key: str, namespace: str = AUDIT_NAMESPACE) -> Signature:
    """Sign a fixed text to learn, before anything is done, that ``key`` can sign."""
    if not key:
        raise SignError("--sign-with: no key given")
    return sign(key, PROBE_TEXT, namespace)


def verify_time(ts: str) -> str | None:
    """``-O verify-time=`` for a record's ISO 8601 UTC timestamp (None if it is not one)."""
    try:
        when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.strftime("%Y%m%d%H%M%SZ")


def check_novalidate(text: str, armored: str, namespace: str) -> None:
    """That ``armored`` is a good signature of ``text`` in ``namespace`` by the key it names
    (``ssh-keygen -Y check-novalidate``: says nothing of whose key it is). Raises SignError."""
    with tempfile.TemporaryDirectory(prefix="annotui-sig-") as tmp:
        sig = Path(tmp) / "sig"
        sig.write_text(armored, encoding="ascii")
        try:
            argv = ["ssh-keygen", "-Y", "check-novalidate", "-n", namespace, "-s", str(sig)]
            done = _keygen(argv, text.encode())
        except (FileNotFoundError, subprocess.TimeoutExpired):
            raise SignError("cannot check signatures: ssh-keygen did not run") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip() or "bad signature"
        raise SignError(f"signature does not verify: {one_line(why)}")


FIND = ("ssh-keygen", "-Y", "find-principals")
VERIFY = ("ssh-keygen", "-Y", "verify")
_GOOD = re.compile(r'^Good "[^"]*" signature for (.*) with \S+ key (SHA256:\S+)', re.M)


class AllowedSigners:
    """Checks signatures against one ``allowed_signers`` file with ``ssh-keygen -Y``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise AuditError(f"allowed signers file {one_line(self.path)} not found")
        self._principals: dict[tuple[str, str], list[str]] = {}

    def _run(self, argv: list[str], data: bytes | None) -> subprocess.CompletedProcess[bytes]:
        try:
            return _keygen(argv, data)
        except FileNotFoundError:
            raise AuditError("cannot check signatures: ssh-keygen is not installed") from None
        except subprocess.TimeoutExpired:
            raise AuditError("cannot check signatures: ssh-keygen did not answer") from None

    def check(self, text: str, armored: str, namespace: str, ts: str | None) -> str:
        """The principal that signed ``text`` with ``armored`` in ``namespace``, valid at ``ts``
        (the record's time; else now). Raises SignError saying why not."""
        key = key_fingerprint(armored)
        options = []
        when = verify_time(ts) if ts else None
        if when:
            options = ["-O", f"verify-time={when}"]
        with tempfile.TemporaryDirectory(prefix="annotui-sig-") as tmp:
            sig = Path(tmp) / "sig"
            sig.write_text(armored, encoding="ascii")
            cached = self._principals.get((key, when or ""))
            if cached is None:
                found = self._run(
                    [*FIND, *options, "-s", str(sig), "-f", str(self.path)],
                    None,
                )
                out = found.stdout.decode("utf-8", "replace")
                cached = [p for p in out.splitlines() if p] if found.returncode == 0 else []
                self._principals[(key, when or "")] = cached
            if not cached:
                raise SignError(f"key {key} is not an allowed signer in {one_line(self.path)}")
            why = ""
            for principal in cached:
                argv = [*VERIFY, *options, "-f", str(self.path), "-I", principal]
                done = self._run([*argv, "-n", namespace, "-s", str(sig)], text.encode())
                good = _GOOD.search(done.stdout.decode("utf-8", "replace"))
                if done.returncode == 0 and good:
                    return good.group(1)
                why = done.stderr.decode("utf-8", "replace").strip() or "bad signature"
        raise SignError(f"signature by {key} does not verify: {one_line(why)}")
