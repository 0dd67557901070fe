"""The redactor masks a secret in every form the programs around a command write it in."""

from __future__ import annotations

import html
import json
import os
import shlex
import subprocess
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from annotui.checklist.template import render
from annotui.engine.redact import MASK, MIN_LINE, Redactor, forms
from annotui.transport import shell
from annotui.transport.base import TransportError

TRICKY = [
    "a'b",
    'it\'s "quoted"',
    "back\\slash",
    "tab\there",
    "new\nline",
    "caf\u00e9 \u2603 \U0001f511",
    "p@ss:w/rd?&=#%",
    "<tag> & 'x'",
    "$HOME `id` $(id)",
    "ctl\x01\x1b[31m\x7f",
    "'",
    "''''",
    "\\",
    "x",
    "ab",
]

secrets = st.text(st.characters(blacklist_characters="\0"), min_size=1, max_size=16).filter(
    lambda s: bool(s.strip())
)
texts = st.text(st.characters(blacklist_characters="\0"), max_size=40)


def nul_mask(masked: str) -> str:
    return "\0" * len(masked)


def shell_script(command: str, env: dict[str, str] | None = None) -> str:
    """What a remote shell reads on its stdin for `command` (cwd, environment, the text); a
    text no shell can be given (a lone surrogate) stands for itself: nothing is sent."""
    try:
        return shell.script(command, cwd="/srv", env=env, stdin_null=False).decode()
    except TransportError:
        return command


def producers(secret: str) -> dict[str, str]:
    """The secret as Python programs and annotui itself write it (what surrounds a value in
    such text is the producer's, so each is its whole output)."""
    b = secret.encode("utf-8", "surrogatepass")
    return {
        "template": render("echo {{ v }}", {"v": secret}, shell=True),
        "shlex": shlex.quote(secret),
        "remote script": shell_script(render("echo {{ v }}", {"v": secret}, shell=True)),
        "remote env": shell_script("true", env={"V": secret}),
        "json": json.dumps(secret),
        "json unicode": json.dumps(secret, ensure_ascii=False),
        "json of json": json.dumps(json.dumps(secret)),
        "json of a command": json.dumps({"argv": ["sh", "-c", shlex.quote(secret)]}),
        "repr": repr(secret),
        "repr in a list": repr([secret, "'\""]),
        "ascii": ascii(secret),
        "repr bytes": repr(b),
        "url": quote(b, safe=""),
        "url path": quote(b),
        "url form": quote_plus(b),
        "html": html.escape(secret),
    }


def test_every_producers_form_is_masked() -> None:
    for secret in TRICKY:
        r = Redactor([secret])
        for name, text in producers(secret).items():
            out = r(f"before {text} after")
            assert MASK in out, (secret, name, text)
            assert not any(f in out for f in forms(secret)), (secret, name, out)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets, before=texts, after=texts)
@example(secret="a'b", before="x", after="y")
def test_any_secret_any_producer_any_surroundings(secret: str, before: str, after: str) -> None:
    r = Redactor([secret], mask=nul_mask)
    for name, text in producers(secret).items():
        whole = before + text + after
        out = r(whole)
        assert len(out) == len(whole)  # only masked, nothing moved
        assert all(o in (c, "\0") for o, c in zip(out, whole, strict=True))
        assert not any(f in out for f in r.forms), (name, out)
        if secret.strip("\r\n") in text:
            assert secret.strip("\r\n") not in out
    # the secret inside a longer string, escaped with it
    for text in (
        json.dumps(before + secret + after),
        json.dumps(before + secret + after, ensure_ascii=False),
        repr(before + secret + after),
        shlex.quote(before + secret + after),
    ):
        out = r(text)
        assert not any(f in out for f in r.forms), (text, out)
        assert "\0" in out


@given(text=texts, secret=secrets)
def test_text_without_a_secret_is_unchanged(text: str, secret: str) -> None:
    r = Redactor([secret])
    if not any(f in text for f in r.forms):
        assert r(text) == text


def test_no_secrets_costs_nothing() -> None:
    r = Redactor()
    text = "x" * 1000
    assert r(text) is text
    assert r.forms == () and r.longest == 0 and r.spans(text) == []
    assert r.held_from(text, newline=False) == len(text)


def test_longest_first_leaves_no_part_of_a_longer_secret() -> None:
    r = Redactor(["abc", "abcdef"])
    assert r("xabcdefy abc") == "x***y ***"


def test_shell_quoted_form_is_masked_whole() -> None:
    r = Redactor(["a'b"])
    assert r(render("echo {{ v }}", {"v": "a'b"}, shell=True)) == "echo '***'"
    env = shell_script("true", env={"V": "a'b"})
    assert r(env) == "cd -- /srv || exit; export V='***'; true"


def test_blank_secrets_are_not_masked_and_short_ones_are() -> None:
    assert Redactor(["", " ", "\n", "\t \r\n"])("a b\n\tc") == "a b\n\tc"
    assert Redactor(["x"])("a x b") == "a *** b"
    assert Redactor(["ab"])("cab") == "c***"


def test_a_trailing_newline_is_not_part_of_the_secret() -> None:
    r = Redactor(["hunter22\n"])
    assert r("pw hunter22 ok") == "pw *** ok"
    assert r.forms and not any(f.endswith("\n") or f.startswith("\n") for f in r.forms)


def test_lines_of_a_multiline_secret_are_masked_alone_when_long_enough() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n}\n-----END KEY-----"
    r = Redactor([key])
    assert r(key) == MASK
    assert r("x MIIEvQIBADANBgkqhkiG9w0BAQEFAASC y") == "x *** y"
    assert r("-----END KEY-----") == MASK
    assert r("}") == "}"  # shorter than MIN_LINE: structure, not secret
    assert len("}") < MIN_LINE
    # CRLF line ends as well
    assert Redactor(["line one!\r\nline two!"])("line one!\nline two!") == MASK


def test_a_custom_mask() -> None:
    assert Redactor(["s3cret"], mask="[hidden]")("a s3cret") == "a [hidden]"
    assert Redactor(["s3cret"], mask="\\1")("a s3cret") == "a \\1"  # not a group reference


def test_added_secrets_count_from_then_on() -> None:
    r = Redactor()
    r.add("tok3n")
    r.add("tok3n")
    assert r.secrets == ("tok3n",)
    assert r("tok3n") == MASK


def test_held_from_finds_the_earliest_possible_start() -> None:
    r = Redactor(["hunter22", "ab\ncd"])
    assert r.held_from("on the hun", newline=False) == len("on the ")
    assert r.held_from("on the hunt", newline=True) == len("on the hunt")  # no line break next
    assert r.held_from("x ab", newline=True) == 2
    assert r.held_from("x ab", newline=False) == 2
    assert r.held_from("nothing", newline=False) == 7


def _bash(script: str, secret: str) -> str:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "S": secret}
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, check=True)
    return (run.stdout + run.stderr).decode("utf-8", "replace")  # no newline translation


BASH_FORMS: dict[str, Callable[[], str]] = {
    "printf %q": lambda: 'printf "%q\\n" "$S"',
    "set -x": lambda: 'set -x; : "$S"',
    "declare -p": lambda: "declare -p S",
}


@settings(max_examples=25, deadline=None)
@given(secret=secrets)
@example(secret="ctl\x01\x1b[31m\x7f")
@example(secret="a'b\tc\nd")
@example(secret="caf\u00e9 'q'")
def test_bash_quoting_is_masked(secret: str) -> None:
    if any("\ud800" <= c <= "\udfff" for c in secret):
        return  # not passable through an environment
    r = Redactor([secret], mask=nul_mask)
    for name, script in BASH_FORMS.items():
        out = _bash(script(), secret)
        assert "\0" in r(out), (name, out)
        assert not any(f in r(out) for f in r.forms), (name, out)


ECHOES = {
    "echo in /bin/sh": 'echo "$1"',  # dash on Debian: XSI echo interprets backslashes
    "printf %b": "printf '%b\\n' \"$1\"",
}


@settings(max_examples=100, deadline=None)
@given(
    secret=st.text(
        st.sampled_from(list("ab9Z \\tnbcv0178'\"$")), min_size=MIN_LINE, max_size=20
    ).filter(lambda s: "\\" in s and bool(s.strip()))
)
@example(secret="Zq'u\"o$(x)`y`\\b\tz \u00fcn\u00ef\u20ac\U0001f680 %s")
@example(secret="pass\\word\\n2nd-line")
@example(secret="s3cr3t-before\\cafter")
def test_what_a_real_echo_prints_of_it_is_masked(secret: str) -> None:
    """`echo {{ secret }}` in a checklist runs /bin/sh's echo, which turns `\\b`, `\\t`, `\\n`,
    `\\0NNN` and `\\\\` into what they stand for and stops at `\\c`: that text is masked too (a
    secret whose echo is cut by `\\c` to fewer than MIN_LINE characters aside)."""
    r = Redactor([secret], mask=nul_mask)
    for name, script in ECHOES.items():
        printed = subprocess.run(
            ["/bin/sh", "-c", script, "sh", secret], capture_output=True, check=True
        ).stdout.decode("utf-8", "replace")
        printed = printed.strip("\r\n")  # line breaks around a value are not masked
        if ("\\c" in secret and len(printed.strip()) < MIN_LINE) or "\ufffd" in printed:
            continue
        for text in (printed, repr(printed)[1:-1], json.dumps(printed)[1:-1]):
            out = r(f"before {text} after")
            assert "\0" in out, (name, text)
            assert out.replace("\0", "") == "before  after", (name, text, out)


@settings(max_examples=200, deadline=None)
@given(secret=secrets.filter(lambda s: not set(s) & set("#?%\r\n") and s.strip() == s))
@example(secret="Zq'u\"o$(touch${IFS}/tmp)`id`\\b {{x}} \u00fc\u20ac<>^|")
def test_a_url_as_the_http_client_sends_it_is_masked(secret: str) -> None:
    """An http step's URL with a secret in its path or query, as httpx sends it (only what a URL
    cannot hold is percent-encoded): a server that echoes the URL back (an error page, a JSON
    error) shows that form, or its JSON."""
    import httpx

    if any("\ud800" <= c <= "\udfff" for c in secret) or secret.strip(".") == "":
        return  # not a URL's text; a dot segment, which the client removes
    r = Redactor([secret], mask=nul_mask)
    try:
        sent = httpx.URL(f"http://127.0.0.1/p/{secret}/x?t={secret}&u=1").raw_path.decode()
    except httpx.InvalidURL:
        return
    in_path = sent[len("/p/") : sent.index("/x?t=")]
    in_query = sent[sent.index("/x?t=") + len("/x?t=") : -len("&u=1")]
    for piece in (in_path, in_query):
        echoed = json.dumps(piece)[1:-1]  # a JSON API echoing the URL back
        for text in (piece, echoed):
            assert r(text) == "\0" * len(text), (sent, text)
