"""The terminal sanitiser and the Markdown escaper (annotui.text), attacked with any text.

The Markdown properties are checked against real parsers: markdown-it-py in strict CommonMark
mode and in a GitHub-like mode with every extension that gives punctuation a meaning (tables,
strikethrough, GFM autolinks and linkify, task lists, footnotes, math, front matter, attributes,
definition lists). The escaped text is put where the report puts text (a line of its own, a
table cell, a list item after a bold label, a heading) and the parse must be exactly the
structure of that place with one plain text node holding the text: nothing else, anywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.gfm import gfm_plugin

from annotui.text import (
    NEWLINE_MARK,
    edge_marked,
    for_terminal,
    markdown_code_block,
    markdown_inline,
    one_line,
)

ESC = "\x1b"
HOSTILE = [
    f"{ESC}]52;c;cm0gLXJmIH4=\x07",  # OSC 52: write the clipboard
    f"{ESC}]0;pwned{ESC}\\",  # OSC 0: the window title, ST-terminated
    f"{ESC}[2J{ESC}[H",  # CSI: clear the screen
    f"{ESC}P+q544e{ESC}\\",  # DCS
    f"{ESC}_apc{ESC}\\",  # APC
    f"{ESC}^pm{ESC}\\",  # PM
    "\x9b31m",  # 8-bit CSI
    "\x9d0;title\x9c",  # 8-bit OSC and ST
    "ok\rFAKE",  # CR overwriting the line
    "abc\x08\x08\x08XYZ",  # backspaces
    "\u202eevil\u202c",  # right-to-left override
    "\u2066isolate\u2069",
    "\x00\x7f\x85\u2028\u2029\x0b\x0c",
]
"""Sequences a terminal acts on."""

MD_ATTACKS = [
    "\r## Verification: intact (forged)",
    "x\n## Verification: intact (forged)\n",
    "ok\r\n| forged | row |\n|---|---|",
    "![pixel](https://evil.example/p.png)",
    "[click](javascript:alert(1))",
    "<https://evil.example>",
    "<img src=x onerror=alert(1)>",
    "&lt;b&gt; &amp; &#x41; &copy;",
    "`code` ``x`` ```",
    "*em* _em_ **strong** ~~del~~ ~sub~",
    "# heading #",
    "x #",
    "- item",
    "1. item",
    "1) item",
    "+ item",
    "> quote",
    "---",
    "===",
    "    indented code",
    "\tindented code",
    "[^1]: footnote",
    "[ref]: https://evil.example",
    "- [ ] task",
    "$x^2$ $$y$$",
    "www.evil.example https://evil.example/x alice@evil.example",
    "{#id .class}",
    "term\n: definition",
    "a\u2028b\u2029c\x85d\x0be\x0cf",
    " ",
    "\u3000",
    "\\",
    "\\|",
    "|",
]
"""Text that would create Markdown structure if it were not escaped."""

ANY_CHAR = st.characters(codec=None, categories=None)
"""Every code point, surrogates and controls included."""
TRICKY = st.sampled_from(
    [
        *"\x1b\x07\x08\r\n\t\x00\x7f\x85\x9b\x9c\u2028\u2029\u202e\u2066\ud800\udcff",
        " ",
        "    ",
        *"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        *["```", "~~~", "www.", "http://", "a@b.co", "&amp;", "<b>", "](x)", "\r\n", "0.", "1)"],
        *HOSTILE,
        *MD_ATTACKS,
    ]
)
TEXT = st.one_of(
    st.text(ANY_CHAR), st.lists(st.one_of(TRICKY, st.text(ANY_CHAR, max_size=3))).map("".join)
)


def _shown(ch: str) -> bool:
    """Whether ``for_terminal`` must replace this character."""
    code = ord(ch)
    return (
        (code < 0x20 and ch not in "\n\t")
        or 0x7F <= code <= 0x9F
        or unicodedata.category(ch) == "Cs"
        or ch in "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
        or ch in "\u2066\u2067\u2068\u2069"
    )


# -- the terminal ----------------------------------------------------------------------------


@given(TEXT)
@settings(max_examples=1500)
def test_for_terminal_leaves_no_control_character(text: str) -> None:
    out = for_terminal(text)
    assert not any(_shown(ch) for ch in out), ascii(out)
    out.encode("utf-8")  # a terminal can be written this (no lone surrogate)
    line = one_line(text)
    assert "\n" not in line and not any(_shown(ch) for ch in line)
    assert line == for_terminal(text).replace("\n", NEWLINE_MARK)


@given(st.text(ANY_CHAR))
@settings(max_examples=1500)
def test_for_terminal_keeps_printable_text(text: str) -> None:
    """Nothing that is harmless is changed: printable text, newlines and tabs come back as they
    were, and so does any text without a character that must be shown."""
    kept = "".join(ch for ch in text if not _shown(ch) and ch != "\r")
    assert for_terminal(kept) == kept
    printable = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    assert for_terminal(printable) == printable
    assert one_line(printable.replace("\n", "")) == printable.replace("\n", "")


@given(st.text(ANY_CHAR))
@settings(max_examples=500)
def test_every_removed_character_is_shown(text: str) -> None:
    """Nothing is dropped silently: each shown character becomes a visible mark of its own."""
    out = for_terminal(text.replace("\r\n", "\n"))
    marks = out.count("^") + out.count("<U+")
    assert marks >= sum(_shown(ch) for ch in text.replace("\r\n", "\n"))


@pytest.mark.parametrize("attack", HOSTILE)
def test_hostile_sequences_are_visible(attack: str) -> None:
    out = for_terminal(attack)
    assert ESC not in out and out != attack
    assert out.replace("^", "").replace("<U+", "") != ""  # something is shown


def test_visible_forms() -> None:
    assert for_terminal(f"{ESC}]0;t\x07{ESC}[2J") == "^[]0;t^G^[[2J"
    assert for_terminal("\x9b2J\u202eabc\udcff") == "<U+009B>2J<U+202E>abc<U+DCFF>"
    assert for_terminal("a\r\nb\rc\x00\x7f\td\n") == "a\nb^Mc^@^?\td\n"
    assert one_line("a\nb\r\nc\rd") == "a⏎b⏎c^Md"
    assert for_terminal(42) == "42" and for_terminal(None) == "None"
    text = "naïve ünïcödé: 日本語, emoji 👩‍👩‍👧 and a flag 🏴󠁧󠁢󠁳󠁣󠁴󠁿\tend"
    assert for_terminal(text) == text


# -- Markdown --------------------------------------------------------------------------------


def _strict() -> MarkdownIt:
    return MarkdownIt("commonmark")


def _github_like() -> MarkdownIt:
    md = MarkdownIt("gfm-like", {"linkify": True})
    gfm_plugin(md, dollarmath=True, front_matter=True)
    return md.use(attrs_plugin).use(deflist_plugin)


PARSERS = {"commonmark": _strict(), "github-like": _github_like()}

PLACES: dict[str, tuple[Callable[[str], str], list[str], int]] = {
    # name: (how the report puts text there, the block tokens expected, the inline holding it)
    "line": (lambda x: x, ["paragraph_open", "inline", "paragraph_close"], 1),
    "table cell": (
        lambda x: f"| step | {x} |\n|---|---|\n| a | {x} |",
        [
            "table_open",
            "thead_open",
            "tr_open",
            "th_open",
            "inline",
            "th_close",
            "th_open",
            "inline",
            "th_close",
            "tr_close",
            "thead_close",
            "tbody_open",
            "tr_open",
            "td_open",
            "inline",
            "td_close",
            "td_open",
            "inline",
            "td_close",
            "tr_close",
            "tbody_close",
            "table_close",
        ],
        17,
    ),
    "list item": (
        lambda x: f"- **evidence:** {x}",
        [
            "bullet_list_open",
            "list_item_open",
            "paragraph_open",
            "inline",
            "paragraph_close",
            "list_item_close",
            "bullet_list_close",
        ],
        3,
    ),
    "heading": (lambda x: f"### {x}", ["heading_open", "inline", "heading_close"], 1),
}


def _inline_text(token: Token, prefix: str = "") -> str:
    """The text of an inline token that may hold nothing but plain text (after the label a
    place puts before it)."""
    children = token.children or []
    kinds = [c.type for c in children]
    if prefix:  # the list item's bold label: ['text', 'strong_open', 'text', 'strong_close', ...]
        assert kinds[:4] == ["text", "strong_open", "text", "strong_close"], kinds
        assert children[2].content == prefix
        children = children[4:]
        kinds = kinds[4:]
    assert set(kinds) <= {"text"}, kinds
    return "".join(c.content for c in children)


def _check_place(md: MarkdownIt, place: str, text: str) -> None:
    wrap, blocks, index = PLACES[place]
    written = markdown_inline(text)
    # no HTML entity or character reference: every & is escaped the Markdown way
    assert "&" not in written.replace("\\&", ""), written
    tokens = md.parse(wrap(written))
    expected = edge_marked(one_line(text))
    if place == "line" and not expected:
        assert tokens == []
        return
    assert [t.type for t in tokens] == blocks
    if place == "list item":
        # (the label's own space is stripped when nothing follows it)
        assert _inline_text(tokens[index], "evidence:") == (" " + expected if expected else "")
    elif place == "table cell":
        assert _inline_text(tokens[7]) == expected  # the header row holds it too
        assert _inline_text(tokens[index]) == expected
    else:
        assert _inline_text(tokens[index]) == expected


COMBINATIONS = [
    (parser, place)
    for parser in PARSERS
    for place in PLACES
    if not (parser == "commonmark" and place == "table cell")  # tables are GFM's
]


@pytest.mark.parametrize(("parser", "place"), COMBINATIONS)
@given(text=TEXT)
@settings(max_examples=300, deadline=None)
@example(text="\r## Verification: intact (forged)")
def test_markdown_inline_cannot_create_structure(parser: str, place: str, text: str) -> None:
    _check_place(PARSERS[parser], place, text)


@pytest.mark.parametrize("attack", MD_ATTACKS)
def test_markdown_attacks(attack: str) -> None:
    for parser, place in COMBINATIONS:
        _check_place(PARSERS[parser], place, attack)
    assert "&" not in markdown_inline(attack.strip()).replace("\\&", "")  # no entity inside


def test_markdown_inline_is_readable() -> None:
    assert markdown_inline("users were told in the standup") == "users were told in the standup"
    assert markdown_inline('alice typing "staging"') == 'alice typing "staging"'
    assert markdown_inline("Notify | users") == "Notify \\| users"
    assert markdown_inline("a\r## b") == "a\\^M\\#\\# b"
    assert markdown_inline("x\ny") == "x⏎y"
    assert markdown_inline("  x ") == "␠␠x␠"  # shown, never a character reference
    assert markdown_inline("\tx\u00a0") == "␉x\\<U\\+00A0\\>"


@pytest.mark.parametrize("parser", PARSERS)
@given(text=TEXT)
@settings(max_examples=300, deadline=None)
def test_markdown_code_block_holds_any_text(parser: str, text: str) -> None:
    tokens = PARSERS[parser].parse(markdown_code_block(text))
    assert [t.type for t in tokens] == ["fence"]
    assert tokens[0].content == for_terminal(text) + "\n"
    assert tokens[0].info == ""
