"""Where a placeholder sits in a shell command, as the shell that runs it will read it.

annotui inserts every value of a shell context shell-quoted (``'it'"'"'s'``): one safe word for
the shell that reads the command. That holds only where that shell reads a plain word. Inside
quotes the inserted quotes are characters of the quoted text, so a value holding ``"`` (inside
``"..."``) or ``'`` (inside ``'...'``) ends the quoting and the rest of it is shell code: ``sh -c
"echo {{ x }}"`` with ``x = a"; touch PWNED; echo "`` runs touch. The same goes for backticks, a
``$(...)`` inside quotes, ``${...}``, ``$((...))``, a comment (a newline in the value ends it), a
here-document (its body is expanded, or a line of the value ends it), a placeholder right after
``\\`` or ``$`` (which change the quote that follows), and the arguments of ``eval`` (which parses
them again).

:func:`unsafe_placeholders` is a small POSIX shell lexer: quotes, backslash escapes, comments,
``$(...)`` and subshells, ``${...}``, ``$((...))``, backticks, bash's ``$'...'``, and
here-documents. It is written for checklists, not as a shell: where it cannot be sure (a
``case`` pattern's ``)`` inside ``$(...)``, say) it leans towards calling a placeholder unsafe.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass

from annotui.checklist.template import PLACEHOLDER

CMD = "command"
SQ = "'...'"
DQ = '"..."'
ANSI = "$'...'"
BQ = "`...`"
SUB = "$(...)"
PAREN = "(...)"
PARAM = "${...}"
ARITH = "$((...))"

WHERE = {
    SQ: "inside single quotes '...'",
    DQ: 'inside double quotes "..."',
    ANSI: "inside $'...'",
    BQ: "inside backticks `...`",
    PARAM: "inside ${...}",
    ARITH: "inside $((...))",
}

_OPERATOR = set(";&|()<>")
_BLANK = set(" \t")
_WORD_END = set(" \t\n;&|()<>")


Found = Generator[tuple[int, str], None, int]
"""Yields (offset, where) of unsafe placeholders; returns the offset to go on from."""


@dataclass(slots=True)
class _Frame:
    kind: str
    depth: int = 0
    """Open parentheses inside a $(...), (...) or $((...))."""


@dataclass(slots=True)
class _Heredoc:
    delimiter: str
    strip_tabs: bool


def _why(stack: list[_Frame]) -> str | None:
    """Why a placeholder in this context is unsafe, or None for a plain word."""
    inner = stack[-1].kind
    if inner in WHERE:
        return WHERE[inner]
    if any(f.kind in (DQ, BQ, PARAM, ARITH) for f in stack):  # a $(...) inside quotes
        return "inside a $(...) within quotes"
    return None


def unsafe_placeholders(command: str) -> Iterator[tuple[int, str]]:
    """(offset, where) for every placeholder of a shell command that is not a plain word."""
    return _Lexer(command).run()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.stack: list[_Frame] = [_Frame(CMD)]
        self.word_start = True
        self.first_word = True
        """The next word is a command name (for `eval`)."""
        self.after_eval = False
        self.heredocs: list[_Heredoc] = []

    def run(self) -> Iterator[tuple[int, str]]:
        text, n = self.text, len(self.text)
        i = 0
        while i < n:
            m = PLACEHOLDER.match(text, i) if text.startswith("{{", i) else None
            if m:
                why = _why(self.stack)
                if why is None and self.after_eval:
                    why = "in the arguments of eval, which parses them as shell code again"
                if why:
                    yield i, why
                self.word_start = self.first_word = False
                i = m.end()
                continue
            kind = self.stack[-1].kind
            if kind == SQ:
                i = self._single(i)
            elif kind in (DQ, ANSI, BQ):
                i = yield from self._quoted(i, kind)
            else:
                i = yield from self._command(i, kind)

    def _pop(self) -> None:
        if len(self.stack) > 1:
            self.stack.pop()

    def _single(self, i: int) -> int:
        """In '...': the closing quote, else on to the next quote or placeholder."""
        if self.text[i] == "'":
            self._pop()
            self.word_start = False
            return i + 1
        found = [k for k in (self.text.find("'", i + 1), self.text.find("{{", i + 1)) if k >= 0]
        return min(found, default=len(self.text))

    def _escaped(self, i: int) -> Iterator[tuple[int, str]]:
        """A backslash at i: a placeholder right after it loses its opening quote."""
        if self.text.startswith("{{", i + 1) and PLACEHOLDER.match(self.text, i + 1):
            yield i + 1, "right after a backslash, which escapes the quote annotui puts there"

    def _quoted(self, i: int, kind: str) -> Found:
        c = self.text[i]
        if c == "\\":
            yield from self._escaped(i)
            return i + 2
        if (kind == DQ and c == '"') or (kind == ANSI and c == "'") or (kind == BQ and c == "`"):
            self._pop()
            self.word_start = False
            return i + 1
        if kind == DQ:
            return self._dollar(i) or (self._backtick(i) if c == "`" else i + 1)
        return i + 1

    def _backtick(self, i: int) -> int:
        self.stack.append(_Frame(BQ))
        return i + 1

    def _dollar(self, i: int) -> int | None:
        """Open $(( $( ${ at i (in a command or in double quotes); None when there is none."""
        text = self.text
        if text.startswith("$((", i):
            self.stack.append(_Frame(ARITH))
            return i + 3
        if text.startswith("$(", i):
            self.stack.append(_Frame(SUB))
            self.word_start = self.first_word = True
            return i + 2
        if text.startswith("${", i) and not text.startswith("${{", i):
            self.stack.append(_Frame(PARAM))
            return i + 2
        return None

    def _command(self, i: int, kind: str) -> Found:
        """One step in a command context: CMD, SUB, PAREN, PARAM or ARITH."""
        text = self.text
        c = text[i]
        frame = self.stack[-1]
        if c == "\\":
            yield from self._escaped(i)
            if text.startswith("\n", i + 1):  # a line continuation
                return i + 2
            self._word()
            return i + 2
        if c == "$" and text.startswith("{{", i + 1) and PLACEHOLDER.match(text, i + 1):
            yield i + 1, "right after a '$', which turns the quote annotui puts there into $'...'"
            return i + 1
        if c == "'":
            self._word()
            self.stack.append(_Frame(SQ))
            return i + 1
        if c == '"':
            self._word()
            self.stack.append(_Frame(DQ))
            return i + 1
        if c == "`":
            self._word()
            return self._backtick(i)
        if c == "$":
            if text.startswith("$'", i):
                self._word()
                self.stack.append(_Frame(ANSI))
                return i + 2
            opened = self._dollar(i)
            if opened is not None:
                return opened
            self._word()
            return i + 1
        if kind == PARAM:
            if c == "}":
                self._pop()
            return i + 1
        if kind == ARITH:
            if c == "(":
                frame.depth += 1
            elif c == ")":
                if frame.depth:
                    frame.depth -= 1
                elif text.startswith("))", i):
                    self._pop()
                    return i + 2
            return i + 1
        # CMD, SUB, PAREN: a command
        if c == "#" and self.word_start:
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            for m in PLACEHOLDER.finditer(text, i, end):
                yield m.start(), "in a shell comment, which a newline in the value would end"
            return end
        if c == "\n":
            self.word_start = self.first_word = True
            self.after_eval = False
            if self.heredocs:
                return (yield from self._bodies(i + 1))
            return i + 1
        if c == "(":
            if kind in (SUB, PAREN) and not self.word_start:
                frame.depth += 1  # e.g. a function definition f()
            else:
                self.stack.append(_Frame(PAREN))
            self.word_start = self.first_word = True
            return i + 1
        if c == ")":
            if kind in (SUB, PAREN):
                if frame.depth:
                    frame.depth -= 1
                else:
                    self._pop()
            self.word_start = True
            self.first_word = False
            return i + 1
        if c == "<" and text.startswith("<<<", i):  # a here-string: a plain word follows
            self.word_start = True
            return i + 3
        if c == "<" and text.startswith("<<", i):
            return (yield from self._heredoc(i))
        if c in _BLANK:
            self.word_start = True
            return i + 1
        if c in _OPERATOR:
            self.word_start = True
            if c in ";&|":
                self.first_word = True
                self.after_eval = False
            return i + 1
        # a run of plain word characters
        j = i
        while j < len(text) and text[j] not in _WORD_END and text[j] not in "'\"`$\\{":
            j += 1
        j = max(j, i + 1)
        if self.word_start and self.first_word:
            word = text[i:j]
            if "=" not in word:  # VAR=value before a command is not its name
                self.first_word = False
                self.after_eval = word == "eval"
        self._word()
        return j

    def _word(self) -> None:
        self.word_start = False

    def _heredoc(self, i: int) -> Found:
        text = self.text
        j = i + 2
        strip = text.startswith("-", j)
        j += 1 if strip else 0
        while j < len(text) and text[j] in _BLANK:
            j += 1
        start = j
        delimiter = []
        while j < len(text) and text[j] not in _WORD_END:
            m = PLACEHOLDER.match(text, j) if text.startswith("{{", j) else None
            if m:
                yield j, "in a here-document's delimiter"
                j = m.end()
                continue
            c = text[j]
            if c in "'\"":
                end = text.find(c, j + 1)
                end = len(text) if end < 0 else end
                delimiter.append(text[j + 1 : end])
                j = end + 1
            elif c == "\\":
                delimiter.append(text[j + 1 : j + 2])
                j += 2
            else:
                delimiter.append(c)
                j += 1
        if j > start:
            self.heredocs.append(_Heredoc("".join(delimiter), strip))
        self.word_start = True
        return max(j, i + 2)

    def _bodies(self, i: int) -> Found:
        """The bodies of the here-documents opened on the line that just ended."""
        text = self.text
        pending, self.heredocs = self.heredocs, []
        for doc in pending:
            while i < len(text):
                end = text.find("\n", i)
                end = len(text) if end < 0 else end
                line = text[i:end]
                if (line.lstrip("\t") if doc.strip_tabs else line) == doc.delimiter:
                    i = end + 1
                    break
                for m in PLACEHOLDER.finditer(text, i, end):
                    yield (
                        m.start(),
                        (
                            "in a here-document, whose body the shell expands (or a line of the "
                            "value ends)"
                        ),
                    )
                i = end + 1
        return min(i, len(text))
