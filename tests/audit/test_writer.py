"""The writer against the real filesystem and real processes: lock, resume, torn tail, secrets."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from annotui import events as ev
from annotui.audit import chain
from annotui.audit.errors import AuditError, AuditLocked
from annotui.audit.lock import lock_path
from annotui.audit.reader import load_run_state, read_records
from annotui.audit.verify import verify
from annotui.audit.writer import AuditWriter

from .conftest import SECRET, STAGING, header, write_run

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from annotui.audit.writer import AuditWriter
    from annotui import events as ev
    from tests.audit.conftest import header
    w = AuditWriter.create(Path(sys.argv[1]))
    w(header())
    print("ready", flush=True)
    for line in sys.stdin:
        w(ev.StepOutput("s/x", "stdout", line.strip()))
        print("wrote", flush=True)
    w.close()
    """
)


@pytest.fixture
def holder(tmp_path: Path):
    """A second real process that creates the log and holds it until its stdin closes."""
    path = tmp_path / "audit.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield path, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_record_layout_and_chain(log: Path) -> None:
    records = list(read_records(log))
    assert [r["seq"] for r in records] == list(range(len(records)))
    assert records[0]["event"] == "session.start" and records[0]["prev"] == chain.ZERO_HASH
    for a, b in itertools.pairwise(records):
        assert b["prev"] == a["hash"]
    first = log.read_bytes().split(b"\n")[0]
    assert first.startswith(b'{"seq":0,"ts":"') and first.endswith(b'"}')
    rec = records[0]
    assert list(rec)[:3] == ["seq", "ts", "event"] and list(rec)[-2:] == ["prev", "hash"]
    assert rec["ts"].endswith("Z") and len(rec["ts"]) == 27
    # The documented definition: sha256 of the canonical record without its hash.
    body = {k: v for k, v in rec.items() if k != "hash"}

    assert hashlib.sha256(chain.canonical(body)).hexdigest() == rec["hash"]


def test_create_refuses_a_non_empty_file(log: Path) -> None:
    with pytest.raises(AuditError, match="already exists and is not empty"):
        AuditWriter.create(log)
    assert not lock_path(log).exists()


def test_first_event_must_be_the_header(tmp_path: Path) -> None:
    with AuditWriter.create(tmp_path / "a.jsonl") as w, pytest.raises(AuditError):
        w(ev.VarSet("x", "y", "cli"))


def test_second_process_is_refused_while_first_goes_on(holder) -> None:
    path, proc = holder
    for attempt in (lambda: AuditWriter.create(path), lambda: AuditWriter.open_append(path)):
        with pytest.raises(AuditLocked) as err:
            attempt()
        msg = str(err.value)
        assert f"audit log {path} is in use by pid {proc.pid} (user " in msg
        assert " on host " in msg and ", since " in msg
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("still writing\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == "wrote\n"
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    result = verify(path)
    assert result.records == 2 and [r["event"] for r in read_records(path)][-1] == "step.output"
    assert not lock_path(path).exists()  # released and removed on close


def test_kill_9_releases_the_lock(holder) -> None:
    path, proc = holder
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert lock_path(path).exists()  # the sidecar stays, but the kernel dropped the flock
    writer, tail = AuditWriter.open_append(path)
    with writer:
        assert tail.records == 1 and tail.torn_tail is None
        writer(ev.SessionResumed("bob", None, "jump2", "live"))
    assert verify(path).ok


def test_secrets_are_redacted_defensively(tmp_path: Path) -> None:
    quoted = 'q"uo\\tedZZ9'
    path = tmp_path / "a.jsonl"
    with AuditWriter.create(path, secrets=[SECRET, quoted, ""]) as w:
        w(header())
        w(ev.StepOutput("s/x", "stdout", f"password={SECRET} ok\nother {quoted}!"))
        w(ev.SupervisorState("s/x", "anno", "before", {f"grp:{SECRET}": SECRET}))
        w(ev.StepFinished("s/x", "ok", 0, 0.1, "plain"))
    data = path.read_bytes()
    assert SECRET.encode() not in data
    assert json.dumps(quoted)[1:-1].encode() not in data and b"tedZZ9" not in data
    records = list(read_records(path))
    assert records[1]["text"] == "password=*** ok\nother ***!"
    assert records[2]["processes"] == {"grp:***": "***"}
    assert verify(path).ok


def test_secrets_are_redacted_from_long_output(tmp_path: Path) -> None:
    """A secret deep inside a flood's chunk (and escaped in it) is still found."""
    head = "a" * (1 << 16) + '"\\'  # escaped: the secret sits after escapes
    lines = [f"line {i}" for i in range(20000)]
    path = tmp_path / "a.jsonl"
    with AuditWriter.create(path, secrets=[SECRET]) as w:
        w(header())
        w(ev.StepOutput("s/x", "stdout", "\n".join([head + SECRET, *lines])))
    assert SECRET.encode() not in path.read_bytes()
    assert list(read_records(path))[1]["text"] == "\n".join([head + "***", *lines])
    assert verify(path).ok


def test_open_append_continues_the_chain(log: Path) -> None:
    before = verify(log)
    writer, tail = AuditWriter.open_append(log)
    with writer:
        assert (tail.records, tail.last_hash, tail.torn_tail) == (
            before.records,
            before.last_hash,
            None,
        )
        assert writer.seq == before.records and writer.last_hash == before.last_hash
        h = writer(ev.SessionResumed("alice", None, "jump1", "live"))
        assert writer.last_hash == h
    after = verify(log)
    assert after.ok and after.records == before.records + 1 and after.last_hash == h


def test_torn_tail_is_captured_recorded_and_never_dropped(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditWriter.create(path) as w:
        write_run(w, end=False)
    good = verify(path)
    torn = b'{"seq":%d,"ts":"2026-01-01T00:00:00.1234\xff' % good.records
    with open(path, "ab") as f:
        f.write(torn)
    assert verify(path).torn_tail
    state = load_run_state(path)
    assert state.torn_tail == torn.decode("utf-8", "backslashreplace")

    writer, tail = AuditWriter.open_append(path)
    with writer:
        assert tail.torn_tail == torn.decode("utf-8", "backslashreplace")
        assert tail.torn_copy is not None and tail.torn_copy.read_bytes() == torn
        assert verify(path).ok  # cut back to the last good line
        writer(ev.SessionResumed("alice", None, "jump1", "live", torn_tail=tail.torn_tail))
    result = verify(path)
    assert result.ok and result.records == good.records + 1
    resumed = list(read_records(path))[-1]
    assert resumed["event"] == "session.resume" and resumed["torn_tail"] == tail.torn_tail


def test_open_append_refuses_a_broken_chain(log: Path) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    del lines[5]
    log.write_bytes(b"".join(lines))
    with pytest.raises(AuditError, match=rf"{log}:6: sequence gap.*refusing to append"):
        AuditWriter.open_append(log)
    assert not lock_path(log).exists()


def test_open_append_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="nothing to resume"):
        AuditWriter.open_append(tmp_path / "nope.jsonl")


def test_run_state_for_resume(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditWriter.create(path) as w:
        write_run(w, end=False)
        w(
            ev.StepShown(
                f"{STAGING}/x",
                STAGING,
                "x",
                "command",
                "x",
                "tsd",
                None,
                "sleep 100",
                True,
                False,
                "yes",
                None,
                False,
            )
        )
        w(ev.StepStarted(f"{STAGING}/x"))
        w(ev.StepOutput(f"{STAGING}/x", "stdout", "half"))
    state = load_run_state(path)
    assert state.header["checklist_sha256"] == "ab" * 32 and state.header["operator"] == "alice"
    assert state.vars == {"release": "v2.4.1", "supervisor_password": "***"}
    assert state.secret_vars == {"supervisor_password"}
    assert state.finished == {
        f"{STAGING}/no-jobs": "ok",
        f"{STAGING}/stop-anno": "ok",
        f"{STAGING}/image-perms": "failed",
        f"{STAGING}/release-issue": "done",
        f"{STAGING}/notify": "skipped",
    }
    assert state.unknown == [f"{STAGING}/x"]
    assert not state.ended and state.torn_tail is None
    assert [s["key"] for s in state.plan] == [STAGING, "deploy[prod]"]
    assert state.records == verify(path).records

    # The resumed run marks it unknown, then the operator marks it done with evidence.
    writer, _ = AuditWriter.open_append(path)
    with writer:
        writer(ev.SessionResumed("alice", None, "jump1", "live", unknown_steps=state.unknown))
        writer(ev.OutcomeUnknown(f"{STAGING}/x", "started, no finish record"))
        assert load_run_state(path).unknown == [f"{STAGING}/x"]
        writer(ev.EvidenceRecorded(f"{STAGING}/x", "what happened", "checked: done", "alice"))
        writer(ev.StepFinished(f"{STAGING}/x", "done"))
        writer(ev.SessionEnded("done", 0, 6, 5, 1))
    state = load_run_state(path)
    assert state.unknown == [] and state.finished[f"{STAGING}/x"] == "done" and state.ended


def test_every_event_is_fsynced_by_default(tmp_path: Path, monkeypatch) -> None:
    """Counts real fsync calls on the log's descriptor (the syscall itself still runs)."""
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    with AuditWriter.create(tmp_path / "a.jsonl") as w:
        calls.clear()
        for _ in range(3):
            w(header() if w.seq == 0 else ev.StepOutput("s/x", "stdout", "x"))
    assert len(calls) == 3
