"""`annotui run --plain --answers FILE`: answers given in advance, for rehearsal scripts and CI.

The file is a TOML table keyed by step key, each entry a table of

    ["deploy[staging]/stop-anno"]
    answer = "run"            # or "skip" (with a reason)
    word = "staging"          # the typed word of a confirm = "typed" step
    evidence = "https://..."  # a manual step's evidence
    reason = "not needed"     # why it is skipped

Questions it does not answer are asked on stdin as usual. A confirmation or skip that came
from the file is recorded as such (`step.confirmed` how = "answers file", a skip's reason says
so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SOURCE = "answers file"
KEYS = ("answer", "word", "evidence", "reason")


class AnswersError(ValueError):
    """The answers file cannot be used (one line, naming the file and the entry)."""


@dataclass(frozen=True, slots=True)
class Answer:
    answer: Literal["run", "skip"] = "run"
    word: str | None = None
    evidence: str | None = None
    reason: str | None = None


def load_answers(path: Path) -> dict[str, Answer]:
    from annotui.engine.vars import read_toml

    data = read_toml(path, "--answers", AnswersError)
    out = {}
    for key, entry in data.items():
        where = f"--answers {path}: [{key!r}]"
        if not isinstance(entry, dict):
            raise AnswersError(f"{where} must be a table of {', '.join(KEYS)}")
        unknown = [k for k in entry if k not in KEYS]
        if unknown:
            raise AnswersError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(KEYS)})")
        if any(not isinstance(v, str) for v in entry.values()):
            raise AnswersError(f"{where}: every value is a string")
        answer = entry.get("answer", "run")
        if answer not in ("run", "skip"):
            raise AnswersError(f"{where}: answer must be 'run' or 'skip', not {answer!r}")
        if answer == "skip" and not entry.get("reason", "").strip():
            raise AnswersError(f"{where}: a skip needs a reason")
        out[key] = Answer(answer, entry.get("word"), entry.get("evidence"), entry.get("reason"))
    return out
