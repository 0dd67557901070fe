"""Drive `annotui run --plain` like an operator: read each prompt, answer it on stdin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STEP = re.compile(r"^-- (\S+): ", re.M)
TYPED = re.compile(r"Type '([^']+)' to run")
Answer = Callable[[str, str], str]
"""(step key, prompt line) -> the answer line."""


@dataclass
class Transcript:
    exit_code: int
    output: str
    answers: list[tuple[str, str, str]] = field(default_factory=list)
    """(step key, prompt, answer) in order."""


def operator(skip: dict[str, str]) -> Answer:
    """Runs every step; skips the step keys in `skip` (with the reason); types the confirm word;
    gives evidence; stops (q) after any failure so a test sees it."""

    def answer(step: str, prompt: str) -> str:
        if "to retry" in prompt or "to take the lock over" in prompt:
            return "q"
        if step in skip and ("to skip" in prompt):
            return f"s {skip[step]}"
        typed = TYPED.search(prompt)
        if typed:
            return typed.group(1)
        if "'y' when done" in prompt or "'y' to run" in prompt:
            return "y"
        return f"sandbox evidence for {step}"

    return answer


def drive(argv: Sequence[str], answer: Answer, cwd: Path, timeout: float = 240) -> Transcript:
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotui.cli", *argv],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    fd = proc.stdout.fileno()
    out = ""
    answers: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"run did not finish in {timeout} s:\n{out[-3000:]}")
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out += chunk.decode(errors="replace")
            tail = out.rpartition("\n")[2]
            if tail.endswith(": ") and tail.startswith("  "):
                steps = STEP.findall(out)
                step = steps[-1] if steps else ""
                reply = answer(step, tail)
                answers.append((step, tail.strip(), reply))
                proc.stdin.write((reply + "\n").encode())
                proc.stdin.flush()
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Transcript(code, out, answers)
