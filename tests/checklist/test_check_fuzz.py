"""A fuzz loop over `annotui check` (issue 12): the bundled checklists and tests/checklist/valid,
mutated byte-wise (flips, insertions of NUL, invalid UTF-8, odd unicode, deletions, cuts) and
structurally (nesting thousands deep, huge and long numbers, keys and strings of 100,000
characters, 50,000 dotted levels, blocks repeated past every limit, values of another type,
broken placeholders). Whatever the bytes: never a traceback nor an internal error, never more
than 5 s, exit 0 (with `FILE: ok`) or 2 (with one printable `FILE:LINE:COL: message` line per
problem, LINE within the file).

In-process on many files (`ANNOTUI_FUZZ_EXAMPLES`, default 250), through the real CLI in a
subprocess on a sample and on the nastiest cases.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotui.checklist.commands import check_one

HERE = Path(__file__).parent
REPO = HERE.parents[1]
BASES = sorted((REPO / "checklists").glob("*.toml")) + sorted((HERE / "valid").glob("*.toml"))
BASE_BYTES = [p.read_bytes() for p in BASES]
EXAMPLES = int(os.environ.get("ANNOTUI_FUZZ_EXAMPLES", "250"))
HANG = 5.0
ODD = [
    "\x00",
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\ufeff",
    "e\u0301",  # combining accent
    "\U0001f680",
    "\uff21",  # fullwidth A
    "\u2028",  # line separator
    "\x85",  # NEL
    "\r",
    "\x1b]52;c;aGk=\x07",  # OSC 52
    "\x1b[2J",
    "\x7f",
    "\x9b",  # CSI (C1)
    "\\u0000",  # the TOML escape of NUL
    "\\",
]
VALUES = [
    "[1, {a = 2}]",
    "true",
    "1979-05-27T07:32:00Z",
    "{}",
    '""',
    "-0",
    "nan",
    "-inf",
    "1e99999",
    "0x7fffffffffffffffff",
    "99999999999999999999",
    '"{{ x }}"',
    '"{{"',
    '"}}"',
    '"{{ release | upper }}"',
    "'{{ release }}'",
    '"sh -c \\"echo {{ release }}\\""',
    '"""\n{{ release }}\n"""',
    '"http://[::1"',
    '"http://127.0.0.1:99999/RPC2"',
]
Mutation = Callable[[bytes, random.Random], tuple[bytes, str]]


def _at(data: bytes, rnd: random.Random) -> int:
    return rnd.randrange(len(data) + 1)


def _line_start(data: bytes, rnd: random.Random) -> int:
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
    return rnd.choice(starts)


def flip(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    i = rnd.randrange(len(data))
    return data[:i] + bytes([rnd.randrange(256)]) + data[i + 1 :], f"flip@{i}"


def insert_odd(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    i = _at(data, rnd)
    odd = rnd.choice(ODD) * rnd.choice([1, 1, 3, 1000])
    return data[:i] + odd.encode() + data[i:], f"odd {odd[:8]!r}@{i}"


def insert_bytes(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    i = _at(data, rnd)
    junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 9)))
    junk = rnd.choice([junk, b"\xff\xfe", b"\xed\xa0\x80", b"\xc0\x80", b"\x00"])
    return data[:i] + junk + data[i:], f"bytes {junk!r}@{i}"


def delete(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    i = _at(data, rnd)
    n = rnd.choice([1, 2, 10, 64, 1000])
    return data[:i] + data[i + n :], f"delete {n}@{i}"


def duplicate(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    i = _at(data, rnd)
    n = rnd.choice([1, 20, 200])
    return data[: i + n] + data[i:], f"duplicate {n}@{i}"


def cut(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    i = _at(data, rnd)
    return data[:i], f"cut@{i}"


def deep(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    depth = rnd.choice([31, 32, 33, 100, 500, 5000, 100_000])
    open_, close = rnd.choice([("[", "]"), ("{a = ", "}"), ("[{a = ", "}]")])
    i = _line_start(data, rnd)
    line = f"deep = {open_ * depth}1{close * depth}\n".encode()
    return data[:i] + line + data[i:], f"deep {open_}x{depth}@{i}"


def dotted(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    depth = rnd.choice([10, 33, 1000, 20_000, 50_000])
    i = _line_start(data, rnd)
    line = ("a." * depth + "b = 1\n").encode()
    return data[:i] + line + data[i:], f"dotted x{depth}@{i}"


def huge_number(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    digits = list(re.finditer(rb"(?<![\w.])\d+(?![\w.])", data))
    number = rnd.choice(["9" * rnd.choice([19, 20, 63, 64, 65, 5000]), "-1", "0", "1e400"])
    if not digits:
        return data + f"\nn = {number}\n".encode(), f"number {number[:10]} appended"
    m = rnd.choice(digits)
    return data[: m.start()] + number.encode() + data[m.end() :], f"number {number[:10]}"


def long_text(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    n = rnd.choice([1000, 100_000, 300_000])
    i = _line_start(data, rnd)
    line = rnd.choice([f"{'k' * n} = 1\n", f'title = "{"t" * n}"\n', f'"{"q" * n}" = "v"\n'])
    return data[:i] + line.encode() + data[i:], f"long {n}@{i}"


def swap_value(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    values = list(re.finditer(rb"= (.+)", data))
    if not values:
        return data, "no value"
    m = rnd.choice(values)
    value = rnd.choice(VALUES)
    return data[: m.start(1)] + value.encode() + data[m.end(1) :], f"value {value!r}"


def repeat_block(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    blocks = [m.start() for m in re.finditer(rb"\n *\[\[stages(\.steps)?\]\]", data)]
    times = rnd.choice([2, 50, 3000])
    if len(blocks) < 2:
        return data * min(times, 20), f"whole file x{min(times, 20)}"
    k = rnd.randrange(len(blocks) - 1)
    block = data[blocks[k] : blocks[k + 1]]
    return data[: blocks[k]] + block * times + data[blocks[k] :], f"block {k} x{times}"


BYTE_WISE: list[Mutation] = [flip, insert_odd, insert_bytes, delete, duplicate, cut]
STRUCTURAL: list[Mutation] = [deep, dotted, huge_number, long_text, swap_value, repeat_block]


def mutated(seed: int) -> tuple[bytes, str]:
    """A base file with 1-4 mutations, chosen by ``seed``; and what was done."""
    rnd = random.Random(seed)
    base = rnd.randrange(len(BASES))
    data = BASE_BYTES[base]
    done = [BASES[base].name]
    for _ in range(rnd.randint(1, 4)):
        mutation = rnd.choice(BYTE_WISE + STRUCTURAL)
        if data:
            data, what = mutation(data, rnd)
            done.append(what)
    return data, "; ".join(done)


def assert_report(path: Path, data: bytes, ok: bool, report: str, what: str) -> None:
    """What `check` prints for one file: `FILE: ok (...)` or FILE:LINE:COL lines."""
    if ok:
        assert report.startswith(f"{path}: ok ("), (what, report)
        return
    assert "internal error" not in report and "Traceback" not in report, (what, report[:2000])
    lines = data.count(b"\n") + 1
    for line in report.split("\n"):
        m = re.match(rf"{re.escape(str(path))}:(\d+):(\d+): \S", line)
        assert m, (what, line[:500])
        assert 1 <= int(m.group(1)) <= lines + 1 and int(m.group(2)) >= 1, (what, line[:500])
        bad = [c for c in line if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029"]
        assert not bad, (what, f"unprintable {bad[:3]!r} in {line[:300]!r}")


class Hang(BaseException):
    """Not an Exception: `check` must not report it as its own internal error, and hypothesis
    stops at the first one instead of replaying 5 s cases while shrinking."""


@contextlib.contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Fail with ``Hang`` after ``seconds`` (an interval timer; an outer one, pytest-timeout's,
    is put back with what is left of it)."""
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    start = time.monotonic()

    def on_alarm(signum: int, frame: types.FrameType | None) -> None:
        raise Hang(f"{what}: check took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if remaining:
            left = max(remaining - (time.monotonic() - start), 0.001)
            signal.setitimer(signal.ITIMER_REAL, left, interval)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_checklists_in_process(seed: int, tmp_path: Path) -> None:
    data, what = mutated(seed)
    path = tmp_path / f"m{seed}.toml"
    path.write_bytes(data)
    with deadline(HANG, what):
        ok, report = check_one(str(path))
    assert_report(path, data, ok, report, what)


NASTY: list[tuple[str, bytes]] = [
    ("deep arrays", b"[checklist]\nx = " + b"[" * 100_000 + b"]" * 100_000 + b"\n"),
    ("deep inline tables", b"x = " + b"{a = " * 50_000 + b"1" + b"}" * 50_000 + b"\n"),
    ("dotted keys", b"a." * 50_000 + b"b = 1\n"),
    ("huge int", b"[checklist]\nid = 1" + b"9" * 100_000 + b"\n"),
    ("long key", b"k" * 250_000 + b" = 1\n"),
    ("too large", b"# " + b"x" * 300_000 + b"\n"),
    ("blank lines", b"\n" * 200_000),
    ("NUL bytes", BASE_BYTES[0].replace(b'"', b'"\x00', 3)),
    ("invalid UTF-8", BASE_BYTES[0][:200] + b"\xff\xfe\xed\xa0\x80" + BASE_BYTES[0][200:]),
    ("escapes in values", BASE_BYTES[0].replace(b'title = "', b'title = "\x1b]0;pwn\x07\\n\r', 2)),
]


@pytest.mark.parametrize("name,data", NASTY, ids=[n for n, _ in NASTY])
def test_nasty_files_through_the_real_cli(name: str, data: bytes, tmp_path: Path) -> None:
    _run_cli(tmp_path / "nasty.toml", data, name)


@pytest.mark.parametrize("seed", range(8))
def test_mutated_sample_through_the_real_cli(seed: int, tmp_path: Path) -> None:
    data, what = mutated(random.Random(20261203 + seed).getrandbits(32))
    _run_cli(tmp_path / "sample.toml", data, what)


def _run_cli(path: Path, data: bytes, what: str) -> None:
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "annotui.cli", "check", str(path)],
            capture_output=True,
            timeout=HANG,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: `annotui check` hung for over {HANG} s")
    took = time.perf_counter() - start
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode in (0, 2), (what, proc.returncode, err[:2000])
    assert "Traceback" not in err, (what, err[:2000])
    report = (out if proc.returncode == 0 else err).rstrip("\n")
    assert (proc.returncode == 0) == bool(out), (what, out[:500], err[:500])
    assert_report(path, data, proc.returncode == 0, report, f"{what} ({took:.2f} s)")
