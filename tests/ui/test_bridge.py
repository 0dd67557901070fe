"""The event bridge: output is coalesced and capped for display, never reordered with events."""

from __future__ import annotations

from textual.message import Message

from annotui.events import AnsibleResult, AnsibleTask, StepFinished, StepOutput, StepStarted
from screens.bridge import EventBridge
from screens.messages import EngineEvent, OutputBatch, OutputReady


def lines(start: int, stop: int) -> str:
    return "\n".join(str(i) for i in range(start, stop))


def test_a_flood_keeps_its_last_lines_and_counts_the_rest() -> None:
    posted: list[Message] = []
    bridge = EventBridge(posted.append, cap=5)
    bridge(StepOutput("s/a", "stdout", lines(0, 3)))
    bridge(StepOutput("s/a", "stdout", lines(3, 10)))  # more than the cap in one chunk
    bridge(StepOutput("s/a", "stderr", lines(10, 12)))
    assert [type(m) for m in posted] == [OutputReady]  # one message in flight, not one per chunk
    ready = posted[0]
    assert isinstance(ready, OutputReady)
    batch = bridge.drain(ready.generation)
    shown = [line for _key, chunk in batch.chunks for line in chunk]
    assert shown == ["7", "8", "9", "10", "11"]
    assert batch.dropped == 7
    assert bridge.drain(ready.generation).chunks == []  # taken once


def test_an_event_flushes_the_output_before_it() -> None:
    posted: list[Message] = []
    bridge = EventBridge(posted.append, cap=5)
    bridge(StepOutput("s/a", "stdout", lines(0, 2)))
    bridge(StepStarted("s/b"))
    ready, batch, event = posted
    assert isinstance(ready, OutputReady) and isinstance(batch, OutputBatch)
    assert batch.chunks == [("s/a", ["0", "1"])] and batch.dropped == 0
    assert isinstance(event, EngineEvent) and event.event == StepStarted("s/b")
    assert bridge.drain(ready.generation).chunks == []  # the stale OutputReady finds nothing


def test_ansible_results_ride_with_the_output_and_an_event_flushes_them() -> None:
    posted: list[Message] = []
    bridge = EventBridge(posted.append, cap=5)
    task = AnsibleTask("s/a", play="p", task="t")
    results = [
        AnsibleResult("s/a", f"h{i}", "t", "debug", "ok", 0.1, "", "0" * 64) for i in range(300)
    ]
    bridge(task)
    for result in results:
        bridge(result)
    bridge(StepOutput("s/a", "stdout", lines(0, 2)))
    assert [type(m) for m in posted] == [OutputReady]  # 302 events, one message in flight
    ready = posted[0]
    assert isinstance(ready, OutputReady)
    batch = bridge.drain(ready.generation)
    assert batch.events == [task, *results]
    assert batch.chunks == [("s/a", ["0", "1"])]
    bridge(results[0])
    bridge(StepFinished("s/a", outcome="failed"))
    ready, flushed, finished = posted[1:]
    assert isinstance(flushed, OutputBatch) and flushed.events == [results[0]]
    assert isinstance(finished, EngineEvent) and finished.event == StepFinished("s/a", "failed")
