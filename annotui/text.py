"""Text that leaves annotui for a terminal or a Markdown page: made inert, never silently cut.

Anything that reaches a person may carry hostile bytes: command output, var values, operator
answers, records of an audit log. Two functions stand between such text and its reader, and
every presenter uses them (plain mode, ``audit show``, ``check`` diagnostics, the cockpit):

- ``for_terminal(text)``: every character a terminal would act on is shown in a visible form
  instead (``cat -v`` and ``less`` style), so a reviewer sees that something was there:
  C0 controls as ``^@`` .. ``^_`` (ESC is ``^[``, BEL ``^G``, CR ``^M``), DEL as ``^?``, and as
  ``<U+XXXX>``: C1 controls (the 8-bit CSI ``<U+009B>`` too), the bidi embeddings, overrides,
  isolates and marks, the line and paragraph separators and lone surrogates (undecodable
  bytes, which no terminal encoding can write). Newline and tab are kept; a CR before a
  newline is dropped (it can overwrite nothing). Without ESC, CSI and the other introducers,
  no escape sequence (CSI, OSC, DCS, APC, PM, SOS) can start: what followed them is shown as
  the plain text it is. Text that is printable (``str.isprintable()``, plus newline and tab)
  comes back unchanged.
- ``one_line(text)``: the same, with line breaks shown as ``⏎``: a value cannot start a line of
  its own (a forged ``FILE:LINE:COL:`` diagnostic, a forged timeline row).

For Markdown (``annotui audit report``):

- ``markdown_inline(text)``: the text as inline Markdown that renders as exactly that text
  (``one_line`` of it) and creates no structure in any position (line start, table cell, list
  item, heading): every ASCII punctuation character that CommonMark, GFM or a common extension
  gives a meaning is backslash-escaped (emphasis, code, links, images, autolinks and bare URLs,
  HTML tags and entities, headings with their closing ``#``, list and quote markers, table
  pipes, setext and thematic underlines, strikethrough, math, footnotes). Whitespace at either
  end, which Markdown would strip (four leading spaces would even start a code block), is shown
  (``edge_marked``: ``␠`` a space, ``␉`` a tab, ``<U+XXXX>`` any other): the Markdown holds no
  HTML entity or character reference, so it reads the same as source and rendered.
- ``markdown_code_block(text)``: a fenced code block of ``for_terminal(text)`` whose fence is
  longer than any run of backticks in it, so no line of the text can close it.

This module imports nothing of annotui: every layer may use it.
"""

from __future__ import annotations

import re

NEWLINE_MARK = "⏎"
"""How ``one_line`` and ``markdown_inline`` show a line break."""

_SHOWN = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff"
)
"""What ``for_terminal`` shows in a visible form: all the C0 controls but tab and newline, DEL,
the C1 controls, the bidi marks (ALM, LRM, RLM), the line and paragraph separators, the bidi
embeddings, overrides (LRE RLE PDF LRO RLO) and isolates (LRI RLI FSI PDI), lone surrogates."""
_UNSAFE = re.compile(f"[{_SHOWN}]")
_UNSAFE_OR_NEWLINE = re.compile(f"[\n{_SHOWN}]")


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def for_terminal(text: object) -> str:
    """``text`` (``str()`` of it) with every control character shown in a visible form; see the
    module's docstring. Newlines and tabs are kept."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():  # the common case, and all that is needed for it
        return s
    if "\r\n" in s:
        s = s.replace("\r\n", "\n")
    return _UNSAFE.sub(_visible, s)


def _visible_or_mark(match: re.Match[str]) -> str:
    return NEWLINE_MARK if match.group() == "\n" else _visible(match)


def one_line(text: object) -> str:
    """``for_terminal(text)`` on one line: every newline (and CR LF) shown as ``⏎``."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():
        return s
    if "\r\n" in s:
        s = s.replace("\r\n", "\n")
    return _UNSAFE_OR_NEWLINE.sub(_visible_or_mark, s)


# -- Markdown ------------------------------------------------------------------------------------

_MD_PUNCTUATION = re.compile(r"""([!#$&()*+\-.:<=>@\[\\\]^_`{|}~])""")
"""The ASCII punctuation escaped by ``markdown_inline``: all of it but ``"',;?/%``, which no
CommonMark construct (nor GFM's tables, autolinks and strikethrough, nor math or footnotes)
starts or closes once the characters above are escaped."""
_MD_EDGE_SPACE = re.compile(r"^\s+|\s+$")
"""Whitespace at either end (a parser strips it: a table cell strips even Unicode spaces)."""


EDGE_MARKS = {" ": "␠", "\t": "␉"}
"""How ``edge_marked`` shows a space and a tab at either end of a text."""


def _edge_marks(match: re.Match[str]) -> str:
    return "".join(EDGE_MARKS.get(ch, f"<U+{ord(ch):04X}>") for ch in match.group())


def edge_marked(text: str) -> str:
    """``text`` with the whitespace at either end shown (``EDGE_MARKS``, else ``<U+XXXX>``)."""
    return _MD_EDGE_SPACE.sub(_edge_marks, text)


def markdown_inline(text: object) -> str:
    """``edge_marked(one_line(text))`` as inline Markdown that renders as exactly that text,
    wherever it is put (see the module's docstring)."""
    return _MD_PUNCTUATION.sub(r"\\\1", edge_marked(one_line(text)))


def markdown_code_block(text: object) -> str:
    """A fenced code block showing ``for_terminal(text)`` literally."""
    body = for_terminal(text)
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{body}\n{fence}"
