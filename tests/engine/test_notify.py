"""`[[notify]]` through Apprise, received by a real HTTP server on 127.0.0.1 that each test
starts and stops; the runs are real `annotui run --plain` processes."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from engine_cli import annotui_cmd, checklist_text, read_log

from tests.text.processes import started

TOKEN = "s3cr3t-hook-token-0123456789"


class Receiver:
    """A webhook receiver: every POST's path and JSON body, in arrival order."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(size) or b"{}")
                outer.posts.append((self.path, body))
                outer.arrived.set()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def titles(self) -> list[str]:
        return [body["title"] for _, body in self.posts]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(5)


def dead_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notes.toml"
    path.write_text(text)
    return path


def events(log: list[dict], name: str) -> list[dict]:
    return [r for r in log if r["event"] == name]


def run_notes(run_plain, checklist: str | Path, *args: str, audit: str = "a.jsonl"):
    return run_plain(checklist, "--yes", *args, audit=audit, with_work=False)


def test_notifications_reach_a_real_server_with_the_fields(run_cli, run_plain, receiver):
    port = receiver.port
    hook = f"json://127.0.0.1:{port}/hook/{TOKEN}"
    web = f"http://127.0.0.1:{port}/web/{TOKEN}"
    r, audit = run_notes(run_plain, "notes", "--var", f"hook={hook}", "--var", f"web={web}")
    assert r.returncode == 1, r.stdout + r.stderr  # the failing step stops the run
    paths = [p for p, _ in receiver.posts]
    # stage_end (prepare ok), failure, stage_end (deploy failed), session_end
    assert paths.count(f"/hook/{TOKEN}") == 4
    assert paths.count(f"/web/{TOKEN}") == 1  # a plain http:// URL: a JSON webhook
    by_title = dict(zip(receiver.titles(), (b for _, b in receiver.posts), strict=True))
    failure = next(b for t, b in by_title.items() if t.startswith("notes (Notify test): step"))
    text = failure["message"]
    for line in (
        "checklist: notes (Notify test)",
        "mode: live",
        "environment: staging",
        "stage: deploy (deploy)",
        "step: deploy/break (break)",
        "outcome: failed",
        "message: exit code 3",
    ):
        assert line in text, text
    assert "operator: " in text and "duration: " in text
    assert "release=1.2.3" in text and "hook" not in text  # release vars, never a secret
    assert failure["type"] == "failure"
    web_title = next(t for t in by_title if "broke at" in t)
    assert web_title == "notes (Notify test) broke at deploy/break (break) (failed) release 1.2.3"
    end = next(b for t, b in by_title.items() if t.endswith("run failed"))
    assert f"audit: {audit}" in end["message"] and "checkpoint: " in end["message"]

    log = read_log(audit)
    sent, results = events(log, "notify.send"), events(log, "notify.result")
    ons = ["stage_end", "failure", "failure", "stage_end", "session_end"]
    assert [s["on"] for s in sent] == ons
    assert sorted(x["on"] for x in results) == sorted(ons)
    assert [x["status"] for x in results] == ["sent"] * 5
    assert {s["target"] for s in sent} == {"json://***"}
    # every result is recorded before session.end
    end_seq = events(log, "session.end")[0]["seq"]
    assert max(x["seq"] for x in results) < end_seq
    raw = audit.read_text()
    assert TOKEN not in raw and TOKEN not in r.stdout + r.stderr
    assert run_cli("audit", "verify", audit).returncode == 0


def test_a_dead_endpoint_is_recorded_and_shown_and_the_run_completes(run_plain, tmp_path):
    text = checklist_text("notes").replace('run = "exit 3"', 'run = "true"')
    hook = f"hook=json://127.0.0.1:{dead_port()}/x/{TOKEN}"
    r, audit = run_notes(run_plain, write(tmp_path, text), "--var", hook)
    assert r.returncode == 0, r.stdout + r.stderr
    log = read_log(audit)
    results = events(log, "notify.result")
    assert [x["on"] for x in results] == ["stage_end", "stage_end", "session_end"]
    assert all(x["status"] == "failed" for x in results), results
    assert all("127.0.0.1" in x["message"] for x in results)  # Apprise's words
    assert "!! notification #1 (stage_end, json://***) failed" in r.stdout
    assert events(log, "session.end")[0]["outcome"] == "done"
    assert TOKEN not in audit.read_text() + r.stdout + r.stderr


def test_rehearsal_sends_nothing_without_notify(run_plain, receiver):
    hook = f"json://127.0.0.1:{receiver.port}/hook/{TOKEN}"
    args = ("--rehearse", "--var", f"hook={hook}")
    r, audit = run_notes(run_plain, "notes", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert receiver.posts == []
    assert events(read_log(audit), "notify.send") == []

    r, _ = run_notes(run_plain, "notes", *args, "--notify", audit="b.jsonl")
    assert r.returncode == 0, r.stdout + r.stderr
    assert receiver.titles() == [
        "REHEARSAL: notes (Notify test): stage prepare (prepare) ok",
        "REHEARSAL: notes (Notify test): stage deploy (deploy) ok",
        "REHEARSAL: notes (Notify test): run done",
    ]


def test_a_notify_url_var_must_be_secret(run_cli, tmp_path):
    text = checklist_text("notes").replace(
        'default = ""\nsecret = true\n\n[[notify]]', 'default = ""\n\n[[notify]]'
    )
    r = run_cli("check", write(tmp_path, text))
    assert r.returncode == 2
    assert "var 'web' is used in a notify url, which holds tokens" in r.stderr, r.stderr


def test_an_empty_url_sends_nothing(run_plain, receiver):
    r, audit = run_notes(run_plain, "notes")
    assert r.returncode == 1, r.stdout + r.stderr
    assert events(read_log(audit), "notify.send") == []


def test_waiting_fires_while_the_operator_does_not_answer(tmp_path, receiver):
    hook = f"json://127.0.0.1:{receiver.port}/w/{TOKEN}"
    text = f"""
[checklist]
id = "wait"
title = "Waiting"
[[notify]]
url = "{hook}"
on = ["waiting"]
waiting_after = 1
[[stages]]
id = "s"
[[stages.steps]]
id = "by-hand"
kind = "manual"
"""
    audit = tmp_path / "a.jsonl"
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"}
    cmd = annotui_cmd("run", write(tmp_path, text), "--plain", "--audit", audit)
    with started(cmd, stdin=subprocess.PIPE, env=env) as proc:
        assert receiver.arrived.wait(30), "no waiting notification"
        time.sleep(0.5)
        out, err = proc.communicate("y\n", timeout=30)
    assert proc.returncode == 0, out + err
    (title,) = receiver.titles()
    assert title == "wait (Waiting): step s/by-hand (by-hand) waiting for the operator for 1 s"
    results = events(read_log(audit), "notify.result")
    assert [(x["on"], x["status"]) for x in results] == [("waiting", "sent")]
