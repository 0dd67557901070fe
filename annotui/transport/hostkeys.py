"""Host key verification: always against known_hosts, never adding anything.

The policy is stricter than OpenSSH's defaults on purpose: whatever `StrictHostKeyChecking`
says (`no`, `accept-new`, `ask`), an unknown host is refused with instructions to check the
fingerprint out of band, and a changed key is refused loudly with both fingerprints and the
known_hosts file:line. Nothing ever writes to a known_hosts file (no `save_host_keys`, no
auto-add policy); they are only read. Hashed entries (`|1|salt|hash`), `[host]:port` names,
wildcard and negated patterns and `@revoked` markers are understood; `@cert-authority` lines
(host certificates) are not supported and are skipped.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

import paramiko

from annotui.transport.base import HostKeyError

KEY_LABELS = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA", "ssh-dss": "DSA"}
RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


@dataclass(frozen=True, slots=True)
class KnownKey:
    file: Path
    line: int
    key: paramiko.PKey
    revoked: bool = False

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def fingerprint(key: paramiko.PKey) -> str:
    """`SHA256:...` as OpenSSH prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def label(key: paramiko.PKey) -> str:
    name = key.get_name()
    return KEY_LABELS.get(name, "ECDSA" if name.startswith("ecdsa") else name)


def lookup_name(hostname: str, port: int, alias: str | None = None) -> str:
    """The name known_hosts lists the host under: `host`, `[host]:port` or the HostKeyAlias."""
    if alias:
        return alias
    return hostname if port == 22 else f"[{hostname}]:{port}"


def _matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        try:
            _, _, salt, digest = pattern.split("|")
            mac = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
        except (ValueError, binascii.Error):
            return False
        return hmac.compare_digest(base64.b64encode(mac).decode(), digest)
    # OpenSSH patterns know only `*` and `?` (so `[host]:port` is literal).
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, name.lower()) is not None


def _names_match(names: str, name: str) -> bool:
    hit = False
    for pattern in names.split(","):
        if pattern.startswith("!"):
            if _matches(pattern[1:], name):
                return False
        elif _matches(pattern, name):
            hit = True
    return hit


def known_keys(files: tuple[Path, ...], name: str) -> list[KnownKey]:
    """Every usable known_hosts entry for `name`, in file order (unreadable files are skipped)."""
    out: list[KnownKey] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for lineno, raw in enumerate(text.splitlines(), 1):
            fields = raw.split()
            if not fields or fields[0].startswith("#"):
                continue
            marker = fields.pop(0) if fields[0].startswith("@") else None
            if marker not in (None, "@revoked") or len(fields) < 3:
                continue
            if not _names_match(fields[0], name):
                continue
            try:
                key = paramiko.PKey.from_type_string(fields[1], base64.b64decode(fields[2]))
            except (binascii.Error, paramiko.SSHException, ValueError):
                continue
            out.append(KnownKey(file, lineno, key, revoked=marker == "@revoked"))
    return out


def preferred_algorithms(known: list[KnownKey], supported: tuple[str, ...]) -> tuple[str, ...]:
    """Host key algorithms with the already-known types first (as OpenSSH orders them), so a
    host known by its RSA key is not reported as unknown because it also has an ed25519 key."""
    first: list[str] = []
    for k in known:
        if k.revoked:
            continue
        name = k.key.get_name()
        for alg in RSA_ALGORITHMS if name == "ssh-rsa" else (name,):
            if alg in supported and alg not in first:
                first.append(alg)
    return tuple(first) + tuple(a for a in supported if a not in first)


def verify(
    key: paramiko.PKey,
    *,
    hostname: str,
    port: int,
    alias: str | None,
    files: tuple[Path, ...],
    where: str,
    via: str | None = None,
) -> None:
    """Return if `key` is listed for the host; else raise `HostKeyError` saying what to do."""
    name = lookup_name(hostname, port, alias)
    known = known_keys(files, name)
    blob = key.asbytes()
    offered = f"{label(key)} key {fingerprint(key)}"
    for k in known:
        if k.revoked and k.key.asbytes() == blob:
            raise HostKeyError(
                f"{where}: the host key {offered} is marked @revoked in {k.where}. Nothing was run."
            )
    if any(k.key.asbytes() == blob for k in known if not k.revoked):
        return
    listed = [k for k in known if not k.revoked]
    if listed:
        expected = "\n".join(
            f"    expected ({k.where}): {label(k.key)} key {fingerprint(k.key)}" for k in listed
        )
        raise HostKeyError(
            "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED @@@\n"
            f"{where}: the host key of {name} does not match known_hosts. Someone could be "
            "intercepting the connection (man in the middle), or the host key was replaced.\n"
            f"    offered by the server: {offered}\n{expected}\n"
            "Nothing was run. annotui never replaces host keys: confirm the new key with the "
            "host's administrator, then remove the old entry "
            f"(ssh-keygen -R '{name}' -f FILE) and add the new one."
        )
    looked = ", ".join(str(f) for f in files) or "(no known_hosts files)"
    scan = f"ssh-keyscan -p {port} {hostname} | ssh-keygen -lf -"
    if via:
        scan += f"   (run it on {via}, the jump host)"
    raise HostKeyError(
        f"{where}: unknown host key: {name} is not in known_hosts "
        f"(looked in {looked}); the server offered {offered}.\n"
        "Nothing was run. annotui never adds host keys. To trust this host, show its "
        f"fingerprint with\n    {scan}\n"
        "compare it with one obtained out of band (the host's administrator, its console), "
        "then add it by connecting once with `ssh` or by appending the ssh-keyscan line to "
        "~/.ssh/known_hosts."
    )
