"""A report's Markdown as a reader sees it: parsed by a real GitHub-like parser and written back
as plain lines (a table row as ``| a | b |``, a list item as ``- text``, a heading as ``## text``,
a code block as its lines, bold as ``**text**``), so tests compare what is shown, not escapes."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.gfm import gfm_plugin

_MD = MarkdownIt("gfm-like", {"linkify": True})
gfm_plugin(_MD, dollarmath=True)

INLINE = {"strong_open": "**", "strong_close": "**", "hardbreak": "\n", "softbreak": "\n"}
STRUCTURE = {"link_open", "image", "html_inline", "html_block", "autolink", "s_open", "em_open"}
"""Tokens no text from the log may create."""


def _inline(token: Token) -> str:
    out = []
    for child in token.children or []:
        assert child.type not in STRUCTURE, child
        if child.type == "code_inline":
            out.append(f"`{child.content}`")
        else:
            out.append(INLINE.get(child.type, child.content))
    return "".join(out)


def view(markdown: str) -> list[str]:
    lines: list[str] = []
    row: list[str] | None = None
    prefix = ""
    for token in _MD.parse(markdown):
        assert token.type not in STRUCTURE, token
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            assert row is not None
            lines.append("| " + " | ".join(row) + " |")
            row = None
        elif token.type == "heading_open":
            prefix = "#" * int(token.tag[1]) + " "
        elif token.type == "list_item_open":
            prefix = "- "
        elif token.type == "inline":
            text = _inline(token)
            if row is not None:
                row.append(text)
            else:
                lines.extend((prefix + text).split("\n"))
                prefix = ""
        elif token.type == "fence":
            lines += ["```", *token.content.splitlines(), "```"]
    return lines


def shown(markdown: str) -> str:
    """The view as one text, a line per block."""
    return "\n".join(view(markdown))
