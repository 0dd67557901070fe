"""Removing secret values from every string that leaves the engine, in every form they take.

A secret reaches output not only as itself but quoted and escaped by whatever printed it: the
template renderer's `shlex.quote`, a shell's `set -x`, the SSH wrapper's `sh -c` quoting the whole
command again, `json.dumps`, `repr`, URL encoding, HTML escaping. `forms(secret)` lists them all;
`Redactor` masks every form of every secret in one compiled alternation, longest first. See
docs/secrets.md for what is masked and what cannot be.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import quote, quote_plus

MASK = "***"

MIN_LINE = 8
"""A line of a multi-line secret is masked on its own (wherever it appears, also without the rest
of the secret) when it holds at least this many characters besides surrounding whitespace.
Shorter lines (`}`, an empty line) carry little of the secret and are common in any output."""

Mask = str | Callable[[str], str]
"""What replaces a secret: a fixed string, or a function of the masked text (tests use one that
keeps the length)."""

_SHLEX_QUOTE = "'\"'\"'"
"""How `shlex.quote` (and so `annotui.checklist.template.render(shell=True)`) writes a `'`."""
_SHELL_QUOTES = (
    _SHLEX_QUOTE,
    "'\\''",  # the POSIX idiom, and what bash prints for `set -x` and `declare -p`
    _SHLEX_QUOTE.replace("'", _SHLEX_QUOTE),  # a quoted command quoted again (SSH's `sh -c`)
)
_BASH_SPECIAL = frozenset(" \t\n!\"$&'()*,;<>?[\\]^`{|}")
"""What bash's `printf %q` puts a backslash before."""
_DQ_SPECIAL = re.compile(r'([\\"$`])')
_ANSI_C = {
    "\a": "\\a",
    "\b": "\\b",
    "\x1b": "\\E",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    "'": "\\'",
}
"""bash's `$'...'` quoting (`printf %q`, `declare -p` of a value with control characters)."""
_ECHO = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_ECHO_ESCAPE = re.compile(r"\\(?:0([0-7]{0,3})|([1-7][0-7]{0,2})|([abcfnrtv\\]))")
"""The escapes of XSI `echo` (dash's, so `/bin/sh`'s `echo` on Debian) and of `printf %b`."""
_ANCHOR = re.compile(r"[A-Za-z0-9]+")
"""ASCII letters and digits: no quoting or escaping scheme above changes them (but for a letter
after a backslash, which `echo` may interpret: `_anchor` takes a run that every form holds)."""


def _encode(v: str) -> bytes:
    """The bytes of a value (a value from argv may hold undecodable bytes as surrogates)."""
    try:
        return v.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return v.encode("utf-8", "surrogatepass")


_UNPRINTABLE = frozenset(("Cc", "Cn", "Cs", "Zl", "Zp"))
"""What glibc's iswprint() refuses in a UTF-8 locale, by Unicode category."""


def _ansi_c(v: str, *, utf8: bool) -> str:
    """The inside of bash's `$'...'`: control characters as escapes, other characters the locale
    cannot print (all non-ASCII in the C locale) as octal bytes."""
    out: list[str] = []
    for c in v:
        if c in _ANSI_C:
            out.append(_ANSI_C[c])
        elif (
            c < " "
            or c == "\x7f"
            or (not c.isascii() and (not utf8 or unicodedata.category(c) in _UNPRINTABLE))
        ):
            out += (f"\\{b:03o}" for b in _encode(c))
        else:
            out.append(c)
    return "".join(out)


def _echoed(v: str) -> str | None:
    """What XSI `echo` (dash's, `/bin/sh` on Debian) and `printf %b` print for `v`: its
    backslash escapes interpreted (`\\0NNN`, and dash's `\\NNN` too), cut at `\\c`. None where
    that leaves fewer than MIN_LINE characters (as for a short line of a multi-line secret), or
    where an octal escape is a byte above ASCII, which the output's decoding would not keep."""
    if "\\" not in v:
        return None
    out: list[str] = []
    at = 0
    for m in _ECHO_ESCAPE.finditer(v):
        out.append(v[at : m.start()])
        at = m.end()
        zero_octal, octal, letter = m.groups()
        if letter == "c":
            at = len(v)
            break
        if letter is not None:
            out.append(_ECHO[letter])
            continue
        code = int(zero_octal or octal or "0", 8)
        if code > 0x7F:
            return None
        out.append(chr(code))
    else:
        out.append(v[at:])
    echoed = "".join(out)
    if echoed == v or (len(echoed.strip()) < MIN_LINE and "\\c" in v):
        return None
    return echoed or None


_URL_QUERY = frozenset(b' "#<>')
"""What the WHATWG URL standard (and httpx) percent-encodes in a URL's query, besides control
characters and non-ASCII bytes."""
_URL_PATH = _URL_QUERY | frozenset(b"?`{}")
"""... and in its path."""


def _lenient_url(b: bytes, encoded: frozenset[int]) -> str:
    """`b` in a URL as an HTTP client sends it: only what the URL cannot hold percent-encoded."""
    return "".join(f"%{c:02X}" if c < 0x20 or c >= 0x7F or c in encoded else chr(c) for c in b)


def _values(secret: str) -> list[str]:
    """The values a secret is masked as: itself without the line breaks around it (a trailing
    newline is a file's, not the secret's), with CRLF line ends as LF too, and each of its lines
    of at least MIN_LINE characters; and what /bin/sh's `echo` prints of it (`_echoed`), which
    a program may then quote or escape as any other value. A secret of nothing but whitespace is
    no value at all."""
    out: dict[str, None] = {}
    echoed = _echoed(secret)
    for s in (secret, secret.replace("\r\n", "\n"), *([echoed] if echoed else [])):
        v = s.strip("\r\n")
        if not v.strip():
            continue
        out[v] = None
        if "\n" in v:
            for line in v.split("\n"):
                line = line.strip("\r")
                if len(line.strip()) >= MIN_LINE:
                    out[line] = None
    return list(out)


def _escapes(v: str) -> Iterator[str]:
    """Every form one value takes when a program quotes or escapes it."""
    yield v
    shell = [v]
    if "'" in v:  # else a single-quoted word holds the value itself
        shell += [v.replace("'", q) for q in _SHELL_QUOTES]
    yield from shell
    # bash's printf %q: backslashes before specials (`#` and `~` only where a word starts), or
    # $'...' with control characters
    escaped = "".join("\\" + c if c in _BASH_SPECIAL else c for c in v)
    yield escaped
    if v[0] in "#~":
        yield "\\" + escaped
    yield _ansi_c(v, utf8=True)
    yield _ansi_c(v, utf8=False)
    yield _DQ_SPECIAL.sub(r"\\\1", v)  # inside double quotes
    for s in shell:
        yield json.dumps(s)[1:-1]
        yield json.dumps(s, ensure_ascii=False)[1:-1]
    yield json.dumps(json.dumps(v)[1:-1])[1:-1]  # JSON text inside a JSON string
    # repr escapes a ' only when the string around it also holds a ": both ways
    for r in (repr, ascii):
        yield r(v + '"')[1:-2]
        if '"' not in v:
            yield r("'" + v)[2:-1]
    b = _encode(v)
    yield repr(b + b'"')[2:-2]
    if b'"' not in b:
        yield repr(b"'" + b)[3:-1]
    yield quote(b, safe="")
    yield quote(b, safe="/")
    yield quote(b, safe="!'()*")  # JavaScript's encodeURIComponent
    yield _lenient_url(b, _URL_QUERY)  # what an HTTP client (httpx) sends of a URL's query
    yield _lenient_url(b, _URL_PATH)  # ... and of its path: a server may echo either back
    yield quote_plus(b, safe="")
    yield html.escape(v)
    yield html.escape(v, quote=False)


def _with_json(escapes: Iterable[str]) -> list[str]:
    """The forms and each one's JSON-string text (a JSON API echoing a URL, an `echo` in a
    JSON log line): a form written once more into JSON."""
    out = dict.fromkeys(f for f in escapes if f)
    for f in list(out):
        out[json.dumps(f)[1:-1]] = None
        out[json.dumps(f, ensure_ascii=False)[1:-1]] = None
    return list(out)


def forms(secret: str) -> list[str]:
    """Every form of a secret that is masked, longest first (none for a blank secret)."""
    out: dict[str, None] = {}
    for v in _values(secret):
        out.update(dict.fromkeys(_with_json(_escapes(v))))
    return sorted(out, key=len, reverse=True)


def _anchor(value: str, value_forms: Iterable[str]) -> str | None:
    """The longest run of ASCII letters and digits of a value that every one of its forms holds
    unchanged: text without it holds none of them. None when the value has no such run."""
    forms = list(value_forms)
    runs: list[str] = _ANCHOR.findall(value)
    for run in sorted(runs, key=len, reverse=True):
        if all(run in f for f in forms):
            return run
    return None


class Redactor:
    """Masks every form of every secret it was given (`forms`), longest first.

    `redactor(text)` masks a whole string. `spans`, `held_from` and `mask_spans` are for a
    stream cut into pieces (see `annotui.engine.output.OutputCollector`). With no secrets every
    call returns at once.
    """

    def __init__(self, secrets: Iterable[str] = (), *, mask: Mask = MASK) -> None:
        self.mask: Mask = mask
        self._secrets: list[str] = []
        self._forms: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        self._anchors: tuple[str, ...] | None = None
        self._longest = 0
        self._ends: dict[bool, tuple[re.Pattern[str], dict[str, tuple[str, ...]]] | None] = {}
        for s in secrets:
            self.add(s)

    def add(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            self._build()

    def _build(self) -> None:
        found: dict[str, None] = {}
        anchors: dict[str, None] | None = {}
        for s in self._secrets:
            for v in _values(s):
                fs = _with_json(_escapes(v))
                found.update(dict.fromkeys(fs))
                a = _anchor(v, fs)
                if a is None or anchors is None:
                    anchors = None
                else:
                    anchors[a] = None
        self._forms = tuple(sorted(found, key=len, reverse=True))
        self._longest = len(self._forms[0]) if self._forms else 0
        self._pattern = re.compile("|".join(map(re.escape, self._forms))) if self._forms else None
        # an anchor that holds another is implied by it: keep the shorter ones only
        if anchors is not None:
            keep = [a for a in anchors if not any(b != a and b in a for b in anchors)]
            self._anchors = tuple(keep)
        else:
            self._anchors = None
        self._ends = {
            newline: self._end_index(tuple(f for f in self._forms if not newline or "\n" in f))
            for newline in (False, True)
        }

    @staticmethod
    def _end_index(
        candidates: tuple[str, ...],
    ) -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]] | None:
        if not candidates:
            return None
        by_first: dict[str, list[str]] = {}
        for f in candidates:
            by_first.setdefault(f[0], []).append(f)
        first = re.compile("|".join(map(re.escape, by_first)))
        return first, {c: tuple(fs) for c, fs in by_first.items()}

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self._secrets)

    @property
    def forms(self) -> tuple[str, ...]:
        """Every form masked, longest first; empty when there is nothing to mask."""
        return self._forms

    @property
    def longest(self) -> int:
        """The length of the longest form (0 without secrets)."""
        return self._longest

    def _maybe(self, text: str) -> bool:
        anchors = self._anchors
        return anchors is None or any(a in text for a in anchors)

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not self._maybe(text):
            return text
        mask = self.mask
        if isinstance(mask, str):
            return pattern.sub(mask.replace("\\", "\\\\"), text)
        return pattern.sub(lambda m: mask(m.group()), text)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where `__call__` would mask: (start, end) of each match, in order, not overlapping."""
        pattern = self._pattern
        if pattern is None or not self._maybe(text):
            return []
        return [m.span() for m in pattern.finditer(text)]

    def mask_spans(self, text: str, spans: Iterable[tuple[int, int]]) -> str:
        """`text` with each of the (ordered, disjoint) spans replaced by the mask."""
        out: list[str] = []
        at = 0
        mask = self.mask
        for start, end in spans:
            out.append(text[at:start])
            out.append(mask if isinstance(mask, str) else mask(text[start:end]))
            at = end
        out.append(text[at:])
        return "".join(out)

    def held_from(self, text: str, *, newline: bool) -> int:
        """Where the end of `text` may be the start of a form that more text would complete: the
        smallest p such that `text[p:]` is a proper prefix of a form, or (with `newline`, when
        the text that follows begins with a line break) such that `text[p:] + "\\n"` is a prefix
        of one. `len(text)` when there is no such p. Looks at most `longest - 1` characters back.
        """
        n = len(text)
        index = self._ends.get(newline)
        if index is None:
            return n
        first, by_first = index
        for m in first.finditer(text, max(0, n - self._longest + 1)):
            p = m.start()
            tail = text[p:] + "\n" if newline else text[p:]
            for f in by_first[m.group()]:
                if len(f) > n - p and f.startswith(tail):
                    return p
        return n
