"""The syntax of values that reach another program: URLs (httpx), SSH targets (paramiko), names.

Each rule is one regular expression written in the common subset of Python's ``re``, Rust's
``regex`` (pydantic) and ECMA-262 (JSON Schema): ASCII classes only (other characters as
``\\xHH`` and ``\\uHHHH`` escapes, which all three read), no lookaround, ``^...$`` around
the whole value. The JSON Schema carries the same expression, so an editor and ``annotui check``
agree; the functions here add the words that say what is wrong.

A value with a placeholder (``{{ supervisor_url }}``) can only be judged once it is rendered:
:mod:`annotui.engine.vars` checks the rendered value when the vars are resolved.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
"""1 to 65535, without leading zeros."""
HOSTNAME = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?)"
"""A DNS name, an alias or an IPv4 address; or an IPv6 address in brackets."""
VISIBLE = r"[!-~]"
"""One printable ASCII character other than space."""

URL = rf"^https?://(?:[^@/?#\x00-\x20\x7f]*@)?{HOSTNAME}(?::{PORT})?(?:[/?#]{VISIBLE}*)?$"
SSH_TARGET = rf"^(?:local|(?:[A-Za-z0-9_.][A-Za-z0-9_.-]*@)?{HOSTNAME}(?::{PORT})?)$"
TEMPLATED = r"\{\{"
"""Contains a placeholder: judged after rendering."""
NO_NUL = r"^[^\x00]*$"
UNIX_USER = r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}$"
"""A user name for `sudo -u` (POSIX portable names)."""
SHELL = r"^(?:/[A-Za-z0-9_.+/-]+|[A-Za-z0-9_.+-]+)$"
"""A shell: an absolute path or a program name looked up in the host's PATH."""
PROCESS = r"^[^\x00-\x1f\x7f]+$"
HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
"""An HTTP header name (an RFC 9110 token)."""
"""A supervisord process or group name (XML-RPC text: no control characters)."""
FOR_EACH_VALUE = (
    r"^[^/\[\]\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+$"
)
"""A value that names an expanded stage, as in `deploy[staging]/step`: no control character
(C0 or C1) and no invisible formatting one (zero-width, soft hyphen, bidirectional overrides
and isolates, byte order mark), so two copies' keys never look alike but differ, and a key is
never shown reordered (`s[x\u202ey]`)."""


def repeated(values: list[str]) -> str | None:
    """The first value that reads as an earlier one (compared in Unicode NFC, where é typed as
    e and a combining accent is é), else None."""
    seen: set[str] = set()
    for value in values:
        key = unicodedata.normalize("NFC", value)
        if key in seen:
            return value
        seen.add(key)
    return None


LIST_REF = r"^\{\{ *[A-Za-z_][A-Za-z0-9_-]* *\}\}$"
"""`for_each = { app = "{{ apps }}" }`: a loop over the values of a list var."""
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_-]*$"
NOTIFY_URL = r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[!-~]+)?$"
"""An Apprise URL (``slack://...``, ``json://...``, a plain ``https://`` webhook), or empty (no
notification: a URL from a var whose default is empty)."""
NOTIFY_FIELDS = (
    "event",
    "checklist",
    "mode",
    "environment",
    "stage",
    "step",
    "operator",
    "outcome",
    "duration",
    "message",
    "audit",
    "checkpoint",
)
"""Names a `[[notify]]` title or body may use besides the vars (they win over a var of the
same name): what the notification is about."""

_URL = re.compile(URL)
_SSH_TARGET = re.compile(SSH_TARGET)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


_NOTIFY_URL = re.compile(NOTIFY_URL)


def notify_url_problem(url: str) -> str | None:
    """Why a (rendered) notification URL cannot be given to Apprise, or None."""
    if _NOTIFY_URL.fullmatch(url):
        return None
    if _CONTROL.search(url):
        return "not a notification URL: it contains a space or a control character"
    return "not a notification URL: expected an Apprise URL such as json://host/path or https://..."


def templated(value: str) -> bool:
    return "{{" in value


def _port_problem(port: str) -> str:
    if not port:
        return "the port after ':' is empty"
    if not port.isdigit():
        return f"port {port!r} is not a number"
    if not 0 < int(port) < 65536:
        return f"port {int(port)} is out of range (1 to 65535)"
    return f"port {port!r} has a leading zero"


def _host_problem(host: str) -> str | None:
    if host.startswith("["):
        if not host.endswith("]"):
            return "the IPv6 address has no closing ']'"
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host} is not an IPv6 address"
        return None
    if not host:
        return "the host is missing"
    if not re.fullmatch(HOSTNAME, host):
        return (
            f"host {host!r} may hold only letters, digits, '.', '-' and '_', "
            "and starts and ends with a letter or digit"
        )
    return None


def _split_host_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return hostport, None
        rest = hostport[end + 1 :]
        return hostport[: end + 1], rest[1:] if rest.startswith(":") else None
    host, sep, port = hostport.rpartition(":")
    return (host, port) if sep else (hostport, None)


def url_problem(url: str) -> str | None:
    """Why a (rendered) supervisor or webhook URL cannot be used, or None."""
    problem = _url_problem(url)
    if problem is None and not _URL.fullmatch(url):
        problem = "expected e.g. http://host:9000"
    return None if problem is None else f"not a valid URL: {problem}"


def _url_problem(url: str) -> str | None:
    if _CONTROL.search(url):
        return "it contains a space or a control character"
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    hostport = authority.rpartition("@")[2]
    host, port = _split_host_port(hostport)
    problem = _host_problem(host)
    if problem is None and port is not None and not re.fullmatch(PORT, port):
        problem = _port_problem(port)
    if problem is None:
        try:
            urlsplit(url).port  # noqa: B018 - what the HTTP client will do with it
        except ValueError as exc:
            problem = str(exc)
    return problem


def ssh_problem(target: str) -> str | None:
    """Why a (rendered) SSH target cannot be used, or None: `local`, a Host alias from
    ~/.ssh/config, or user@host:port."""
    if _SSH_TARGET.fullmatch(target):
        host, _ = _split_host_port(target.rpartition("@")[2])
        problem = _host_problem(host) if target != "local" else None
        return None if problem is None else f"not an SSH target: {problem}"
    if _CONTROL.search(target):
        why = "it contains a space or a control character"
    elif target.startswith("-"):
        why = "it must not start with '-'"
    else:
        user, _, hostport = target.rpartition("@")
        host, port = _split_host_port(hostport)
        if target.startswith("@"):
            why = "the user before '@' is empty"
        elif user and not re.fullmatch(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*", user):
            why = f"user {user!r} may hold only letters, digits, '.', '-' and '_'"
        else:
            why = _host_problem(host) or (
                _port_problem(port) if port is not None else "expected user@host:port"
            )
    return f"not an SSH target: {why} (expected a Host alias, user@host:port or local)"
