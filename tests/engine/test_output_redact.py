"""The output collector never lets a secret through where output is cut into pieces or chunks,
and loses, adds or reorders nothing of output that holds no secret."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from annotui.engine import output
from annotui.engine.output import CUT_CHARS, OutputCollector
from annotui.engine.redact import MASK, Redactor
from annotui.events import Event, StepOutput
from annotui.transport import local, ssh
from annotui.transport.local import LocalTransport


def nul_mask(masked: str) -> str:
    return "\0" * len(masked)


secrets = st.one_of(
    st.text(st.characters(blacklist_characters="\0"), min_size=1, max_size=10),
    st.sampled_from(["a'b", "hunter22", "ab\ncd", "x", "tab\there", "new\nline two!", "c\u00e9\\"]),
).filter(lambda s: bool(s.strip()))


@dataclass
class Stream:
    """One stream's output as the command wrote it (`true`) and as a transport hands it over:
    pieces that end where a line ends (the newline dropped) or, for `cut` ones, anywhere in an
    overlong line."""

    true: str
    pieces: list[str]
    cut: list[bool]

    @property
    def joined(self) -> str:
        return "\n".join(self.pieces)

    def artifacts(self) -> set[int]:
        """Positions in `joined` of the newlines that are only cuts."""
        out, at = set(), 0
        for piece, cut in zip(self.pieces[:-1], self.cut, strict=False):
            at += len(piece)
            if cut:
                out.add(at)
            at += 1
        return out


def split(true: str, at: list[int], cut_chars: int) -> Stream:
    pieces: list[str] = []
    cut: list[bool] = []
    last = 0
    for c in sorted(set(at)):
        if c <= last or c >= len(true):
            continue
        if true[c] == "\n":
            pieces.append(true[last:c])
            cut.append(False)
            last = c + 1
        elif "\n" not in true[last:c] and c - last >= cut_chars:
            pieces.append(true[last:c])
            cut.append(True)
            last = c
    pieces.append(true[last:])
    cut.append(False)
    return Stream(true, pieces, cut)


@st.composite
def stream_of(draw: st.DrawFn, forms: tuple[str, ...], cut_chars: int) -> Stream:
    part = st.one_of(
        st.text(st.characters(blacklist_characters="\0"), max_size=12),
        st.sampled_from(forms),
        st.sampled_from([f[: len(f) // 2] for f in forms] + [f[len(f) // 2 :] for f in forms]),
        st.integers(0, 2 * cut_chars).map(lambda k: "x" * k),
        st.just("\n"),
    )
    true = "".join(draw(st.lists(part, max_size=14)))
    at = draw(st.lists(st.integers(0, max(0, len(true))), max_size=24))
    return split(true, at, cut_chars)


def collect(
    redact: Redactor,
    schedule: list[tuple[str, str, bool]],
    chunk: int,
    cut_chars: int,
) -> list[StepOutput]:
    """Feed (stream, piece, pause-after) on a real event loop; a pause lets the idle flush run."""
    events: list[StepOutput] = []

    def emit(e: Event) -> None:
        assert isinstance(e, StepOutput)
        events.append(e)

    async def go() -> None:
        out = OutputCollector("s/x", emit, redact, False, cut_chars=cut_chars)
        for stream, piece, pause in schedule:
            out.text(stream, piece)  # type: ignore[arg-type]
            if pause:
                await asyncio.sleep(0)
        out.flush()

    with mock.patch.object(output, "CHUNK_BYTES", chunk):
        asyncio.run(go())
    return events


def check_stream(redact: Redactor, s: Stream, events: list[StepOutput], cut_chars: int) -> None:
    joined = s.joined
    out = "\n".join(e.text for e in events)
    assert len(out) == len(joined)  # masked in place (the test's mask keeps the length)
    assert all(o in (c, "\0") for o, c in zip(out, joined, strict=True))
    for f in redact.forms:
        assert f not in out, (f, out)
    # as the command wrote it: the cut pieces joined without the newline
    artifacts = s.artifacts()
    as_written = "".join(c for i, c in enumerate(out) if i not in artifacts)
    for f in redact.forms:
        assert f not in as_written, (f, as_written)
    if not any(f in joined or f in s.true for f in redact.forms):
        assert out == joined  # nothing lost, nothing added, order kept
    maybe_cut = [len(p) >= cut_chars and "\n" not in p for p in s.pieces[:-1]]
    if not any(maybe_cut):
        assert out == redact(joined)  # the same as masking the whole stream at once


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Redactor, Stream, Stream, list[tuple[str, str, bool]]]:
    secret = draw(secrets)
    more = draw(st.lists(secrets, max_size=1))
    redact = Redactor([secret, *more], mask=nul_mask)
    cut_chars = redact.longest + 1  # transports cut far apart: no form spans two cuts
    stdout = draw(stream_of(redact.forms, cut_chars))
    stderr = draw(stream_of(redact.forms, cut_chars))
    order = draw(st.permutations([0] * len(stdout.pieces) + [1] * len(stderr.pieces)))
    pauses = draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)))
    its = [iter(stdout.pieces), iter(stderr.pieces)]
    schedule = [
        ("stdout" if o == 0 else "stderr", next(its[o]), p)
        for o, p in zip(order, pauses, strict=True)
    ]
    return redact, stdout, stderr, schedule


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), chunk=st.integers(1, 200))
def test_no_form_of_a_secret_gets_through_any_chunking(
    scenario: tuple[Redactor, Stream, Stream, list[tuple[str, str, bool]]], chunk: int
) -> None:
    redact, stdout, stderr, schedule = scenario
    cut_chars = redact.longest + 1
    events = collect(redact, schedule, chunk, cut_chars)
    for name, s in (("stdout", stdout), ("stderr", stderr)):
        check_stream(redact, s, [e for e in events if e.stream == name], cut_chars)


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(st.text(st.characters(blacklist_characters="\0"), max_size=30), max_size=20),
    secret=secrets,
    chunk=st.integers(1, 100),
    pauses=st.lists(st.booleans(), max_size=20),
)
@example(text=["on the hun", "ter"], secret="hunter22", chunk=1000, pauses=[True])
def test_text_without_secrets_is_emitted_unchanged_and_whole(
    text: list[str], secret: str, chunk: int, pauses: list[bool]
) -> None:
    redact = Redactor([secret])
    joined = "\n".join(text)
    if any(f in joined or f in "".join(text) for f in redact.forms):
        return
    schedule = [("stdout", t, i < len(pauses) and pauses[i]) for i, t in enumerate(text)]
    events = collect(redact, schedule, chunk, 8)
    assert "\n".join(e.text for e in events) == joined


def test_without_secrets_each_flush_is_one_event_of_everything() -> None:
    events = collect(Redactor(), [("stdout", "a", False), ("stdout", "b", True)], 1 << 20, 8)
    assert [e.text for e in events] == ["a\nb"]


def run_local(command: str, secrets: tuple[str, ...]) -> list[tuple[float, StepOutput]]:
    seen: list[tuple[float, StepOutput]] = []

    async def go() -> None:
        start = time.monotonic()

        def emit(e: Event) -> None:
            assert isinstance(e, StepOutput)
            seen.append((time.monotonic() - start, e))

        out = OutputCollector("s/x", emit, Redactor(secrets), keep_stdout=False)
        await LocalTransport().run(command, on_line=out)
        out.flush()

    asyncio.run(go())
    return seen


def test_a_secret_cut_with_an_overlong_line_is_masked_whole() -> None:
    # 200,000 copies in one 1.6 MB line: wherever the transport cuts it (at >= 1 MiB), the cut
    # falls inside a copy or between two
    seen = run_local(
        "python3 -c \"import sys; sys.stdout.write('hunter22' * 200000 + '\\nend\\n')\"",
        ("hunter22",),
    )
    lines = "\n".join(e.text for _, e in seen).split("\n")
    assert lines[-1] == "end"
    assert "".join(lines[:-1]) == MASK * 200000
    assert len(lines) in (2, 3)  # a cut between two copies is a line break, as without secrets


def test_a_slow_commands_line_is_not_held_for_looking_like_a_secrets_start() -> None:
    seen = run_local("echo on the hunt; sleep 1; echo done", ("hunter22",))
    assert [e.text for _, e in seen] == ["on the hunt", "done"]
    assert seen[0][0] < 0.8


def test_a_multiline_secret_printed_line_by_line_is_masked_whole() -> None:
    seen = run_local("echo ab; sleep 0.3; echo cd; echo after", ("ab\ncd",))
    assert "\n".join(e.text for _, e in seen) == f"{MASK}\nafter"
    # "ab" waited for the next line: it was the start of the secret
    assert seen[0][0] >= 0.25


def test_the_final_flush_emits_what_was_held() -> None:
    redact = Redactor(["hunter22"])
    piece = "x" * 20 + "hun"
    events = collect(redact, [("stdout", piece, True)], 1 << 20, 8)
    assert [e.text for e in events] == [piece]  # the secret never came: it is only text


def test_a_held_cut_waits_for_its_own_stream() -> None:
    redact = Redactor(["hunter22"])
    schedule = [
        ("stdout", "x" * 20 + "hun", True),
        ("stderr", "warning", True),
        ("stdout", "ter22 rest", True),
    ]
    events = collect(redact, schedule, 1 << 20, 8)
    assert [(e.stream, e.text) for e in events] == [
        ("stderr", "warning"),
        ("stdout", "x" * 20 + MASK + " rest"),
    ]


def test_the_cut_threshold_is_safe_for_every_transport() -> None:
    # a transport delivers a piece of an overlong line only once MAX_LINE bytes have gathered
    assert local.MAX_LINE == ssh.MAX_LINE
    assert CUT_CHARS * 4 < local.MAX_LINE


def pieces_stream(pieces: list[str], cut: list[bool]) -> Stream:
    true = "".join(p if c else p + "\n" for p, c in zip(pieces, cut, strict=True))[:-1]
    return Stream(true, pieces, cut)


def check_schedule(secret: str, pieces: list[str], cut: list[bool]) -> list[StepOutput]:
    redact = Redactor([secret], mask=nul_mask)
    cut_chars = redact.longest + 1
    assert all(len(p) >= cut_chars and "\n" not in p for p, c in zip(pieces, cut, strict=True) if c)
    events = collect(redact, [("stdout", p, True) for p in pieces], 1 << 20, cut_chars)
    check_stream(redact, pieces_stream(pieces, cut), events, cut_chars)
    return events


def test_a_masked_multiline_form_is_never_split_by_a_hold() -> None:
    # the held "ab" must not take the line break inside the masked "ab\ncd" with it
    check_schedule("ab\ncd", ["ab\ncd ab", "cd"], [False, False])


def test_a_masked_form_across_a_cut_is_never_split_by_a_hold() -> None:
    check_schedule(
        "hunter22", ["x" * 30 + "hun", "ter22" + "y" * 30 + "hu", "nter22"], [True, True, False]
    )


def test_a_multiline_form_across_a_cut_and_a_line_break() -> None:
    check_schedule("abc\nde", ["x" * 30 + "ab", "c", "de"], [True, False, False])
