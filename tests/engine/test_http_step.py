"""`kind = "http"` end to end through `annotui run --plain`, against a real HTTP server on
127.0.0.1: awaited with retries until healthy, a secret header never shown nor recorded."""

from __future__ import annotations

import sys
from pathlib import Path

from engine_cli import checklist_text, read_log

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from http_server import health_server


def _run(run_plain, checklist: str | Path, base: str, token: str):
    env = {"ANNOTUI_T_HTTP_TOKEN": token}
    return run_plain(checklist, "--yes", "--var", f"base={base}", env=env, with_work=False)


def test_http_step_awaits_a_real_endpoint(run_plain) -> None:
    with health_server(ready_after=3) as server:
        r, audit = _run(run_plain, "http", server.url, "t0ken-s3cret")
        seen = list(server.seen)
    assert r.returncode == 0, r.stdout + r.stderr
    assert seen == [("GET", "/health", "Bearer t0ken-s3cret")] * 3
    recs = read_log(audit)
    attempts = [x for x in recs if x["event"] == "step.attempt"]
    assert [(x["attempt"], x["attempts"]) for x in attempts] == [(1, 6), (2, 6)]
    assert "status 503, expected 200" in attempts[0]["message"]
    fin = next(x for x in recs if x["event"] == "step.finished")
    assert fin["outcome"] == "ok" and "(attempt 3 of 6)" in fin["expectation"]
    out = [x["text"] for x in recs if x["event"] == "step.output"]
    assert out[-1].startswith("HTTP 200 OK")
    assert "t0ken-s3cret" not in audit.read_text() and "t0ken-s3cret" not in r.stdout


def test_http_step_fails_when_it_never_holds(run_plain, tmp_path: Path) -> None:
    path = tmp_path / "http.toml"
    path.write_text(checklist_text("http").replace("retries = 5", "retries = 1"))
    with health_server(ready_after=10) as server:
        r, audit = _run(run_plain, path, server.url, "x")
    assert r.returncode == 1, r.stdout + r.stderr
    fin = next(x for x in read_log(audit) if x["event"] == "step.finished")
    assert fin["outcome"] == "failed" and "(attempt 2 of 2)" in fin["expectation"]
