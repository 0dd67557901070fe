"""The local transport and the output collector: every line, in order, chunked, redacted."""

from __future__ import annotations

import asyncio
import time

from annotui.engine.output import OutputCollector
from annotui.engine.redact import Redactor
from annotui.events import StepOutput
from annotui.transport.local import LocalTransport


def collect(command: str, secrets: tuple[str, ...] = (), timeout: float | None = None):
    events: list[StepOutput] = []

    async def go():
        out = OutputCollector("s/x", events.append, Redactor(secrets), keep_stdout=True)
        result = await LocalTransport().run(command, on_line=out, timeout=timeout)
        out.flush()
        return result, out

    result, out = asyncio.run(go())
    return result, out, events


def lines_of(events, stream):
    return [line for e in events if e.stream == stream for line in e.lines]


def test_a_flood_arrives_complete_in_few_big_chunks():
    result, _out, events = collect("seq 300000; echo err >&2; printf 'no newline at end'")
    assert result.exit_code == 0
    stdout = lines_of(events, "stdout")
    assert stdout[:3] == ["1", "2", "3"]
    assert stdout[299999] == "300000"
    assert stdout[-1] == "no newline at end"
    assert len(stdout) == 300001
    assert lines_of(events, "stderr") == ["err"]
    # chunked, not one event per line: at most one event per pipe read (>= 4 KiB each), however
    # the scheduler splits the flood (a fixed small count would depend on machine load)
    assert len(events) < len(stdout) // 300
    assert sum(len(e.lines) for e in events) == 300002


def test_a_slow_command_shows_each_line_at_once():
    seen: list[tuple[float, list[str]]] = []

    async def go():
        start = time.monotonic()
        out = OutputCollector(
            "s/x", lambda e: seen.append((time.monotonic() - start, e.lines)), Redactor(), False
        )
        await LocalTransport().run("echo first; sleep 1; echo second", on_line=out)

    asyncio.run(go())
    assert [lines for _, lines in seen] == [["first"], ["second"]]
    assert seen[0][0] < 0.8  # not held back until the end


def test_secrets_are_redacted_and_expectations_see_raw_stdout():
    _result, out, events = collect("echo the token is hunter22; echo clean", ("hunter22",))
    assert lines_of(events, "stdout") == ["the token is ***", "clean"]
    assert "hunter22" in out.stdout  # kept only in memory, for expectations


def test_long_lines_and_invalid_utf8_do_not_break_the_stream():
    _result, _out, events = collect(
        "python3 -c \"import sys; sys.stdout.write('x' * 3000000 + '\\n'); "
        "sys.stdout.buffer.write(b'bad \\xff byte\\n')\""
    )
    stdout = lines_of(events, "stdout")
    assert sum(len(line) for line in stdout[:-1]) == 3000000
    assert stdout[-1] == "bad \ufffd byte"


def test_timeout_stops_the_whole_process_group():
    result, _out, events = collect("sleep 30 & sleep 30; echo never", timeout=0.5)
    assert result.timed_out and result.exit_code is None
    assert "never" not in lines_of(events, "stdout")
