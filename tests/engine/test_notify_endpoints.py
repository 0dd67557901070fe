"""`[[notify]]` against endpoints that misbehave, and URLs that hold secrets.

A real HTTP server on 127.0.0.1 (started and stopped by each test) answers by path: `/hang/...`
reads the request and never answers, `/500/...` answers 500, anything else 200. The runs are
real `annotui run --plain` processes; the URL reaches them through the environment (`from_env`),
never an argv, so that no process of the run can have it in its command line."""

from __future__ import annotations

import base64
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from engine_cli import annotui_cmd, read_log

from annotui.engine import notify

TOKEN = "hook-path-token-5f4e3d2c1b"
PASSWORD = "pw-9a8b7c6d5e"
USER = "notifier"
SHORT = "k3y!"
"""A secret shorter than the pieces of a URL redacted on their own (notify.MIN_PIECE)."""

CHECKLIST = """\
[checklist]
id = "endpoints"
title = "Endpoints"

[vars.hook]
secret = true
from_env = "NOTIFY_HOOK"

[[notify]]
url = "{{ hook }}"
on = ["stage_end", "session_end"]

[[stages]]
id = "one"
  [[stages.steps]]
  id = "first"
  kind = "command"
  run = "echo first"
  changes = false

[[stages]]
id = "two"
  [[stages.steps]]
  id = "second"
  kind = "command"
  run = "echo second"
  changes = false
"""


class Endpoint:
    """The misbehaving webhook: what it was sent, and a way to release the hung requests."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        """(path, Authorization) of every POST."""
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.seen.append((self.path, self.headers.get("Authorization")))
                if self.path.startswith("/hang/"):
                    outer.release.wait(120)  # holds the connection, says nothing
                    return
                status = 500 if self.path.startswith("/500/") else 200
                body = b"internal trouble\n" if status == 500 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str, auth: str = "") -> str:
        return f"json://{auth}127.0.0.1:{self.port}/{path}/{TOKEN}"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint()
    e.thread.start()
    yield e
    e.release.set()
    e.server.shutdown()
    e.server.server_close()
    e.thread.join(5)


def run(tmp_path: Path, url: str) -> tuple[subprocess.CompletedProcess[str], Path, float]:
    checklist = tmp_path / "endpoints.toml"
    checklist.write_text(CHECKLIST)
    audit = tmp_path / "a.jsonl"
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "PATH": "/usr/bin:/bin", "NOTIFY_HOOK": url}
    start = time.monotonic()
    r = subprocess.run(
        annotui_cmd("run", checklist, "--plain", "--yes", "--audit", audit),
        capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return r, audit, time.monotonic() - start


def events(log: list[dict], name: str) -> list[dict]:
    return [r for r in log if r["event"] == name]


def show(audit: Path, *what: str) -> str:
    r = subprocess.run(
        annotui_cmd("audit", *what, audit), capture_output=True, text=True, timeout=60
    )
    assert r.returncode in (0, 3), r.stderr  # 3: intact, not sealed
    return r.stdout + r.stderr


def test_a_hung_endpoint_times_out_and_never_holds_the_run(tmp_path, endpoint):
    r, audit, took = run(tmp_path, endpoint.url("hang"))
    assert r.returncode == 0, r.stdout + r.stderr
    log = read_log(audit)
    results = events(log, "notify.result")
    assert [x["on"] for x in results] == ["stage_end", "stage_end", "session_end"]
    assert {x["status"] for x in results} == {"timeout"}, results
    # the run went on at once: stage two ran while the first notification hung
    second = next(x for x in events(log, "step.finished") if x["step_key"] == "two/second")
    assert second["seq"] < results[0]["seq"]
    # bounded: one notification's deadline while the run goes on, then the end's wait
    assert took < notify.TIMEOUT + notify.END_WAIT + 15, took
    assert "!! notification #1 (stage_end, json://***) timeout" in r.stdout
    assert events(log, "session.end")[0]["outcome"] == "done"
    assert TOKEN not in audit.read_text() + r.stdout + r.stderr


def test_an_endpoint_answering_500_is_a_failed_notification(tmp_path, endpoint):
    r, audit, took = run(tmp_path, endpoint.url("500"))
    assert r.returncode == 0, r.stdout + r.stderr
    results = events(read_log(audit), "notify.result")
    assert [x["status"] for x in results] == ["failed"] * 3, results
    assert all("500" in x["message"] for x in results), results  # Apprise's words
    assert len(endpoint.seen) == 3 and took < 30, took
    assert "!! notification #1 (stage_end, json://***) failed" in r.stdout


def test_a_refused_connection_is_a_failed_notification_at_once(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the run starts: nothing listens
    r, audit, took = run(tmp_path, f"json://127.0.0.1:{port}/x/{TOKEN}")
    assert r.returncode == 0, r.stdout + r.stderr
    results = events(read_log(audit), "notify.result")
    assert [x["status"] for x in results] == ["failed"] * 3, results
    assert took < 30, took


@pytest.mark.parametrize("path", ["ok", "500"])
def test_the_url_s_secrets_reach_neither_log_nor_screen_nor_show_nor_report(
    tmp_path, endpoint, path
):
    auth = f"{USER}:{PASSWORD}{SHORT}@"
    r, audit, _ = run(tmp_path, endpoint.url(path, auth))
    assert r.returncode == 0, r.stdout + r.stderr
    basic = base64.b64encode(f"{USER}:{PASSWORD}{SHORT}".encode()).decode()
    assert endpoint.seen and all(a == f"Basic {basic}" for _, a in endpoint.seen)  # it was used
    results = events(read_log(audit), "notify.result")
    assert [x["status"] for x in results] == ["sent" if path == "ok" else "failed"] * 3
    seen = {
        "audit log": audit.read_text(),
        "screen": r.stdout + r.stderr,
        "audit show": show(audit, "show"),
        "audit report": show(audit, "report"),
    }
    assert "json://***" in seen["audit show"]
    for where, text in seen.items():
        for secret in (PASSWORD, TOKEN, basic, f"{PASSWORD}{SHORT}"):
            assert secret not in text, (where, secret)
