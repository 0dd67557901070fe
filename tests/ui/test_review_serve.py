"""`annotui review PATH --serve`: the read-only viewer served by textual-serve on 127.0.0.1,
driven over its real websocket as a browser would (the page's protocol: JSON envelopes in,
terminal output out): it shows the log's verify banner, runs in a scrubbed environment, and
hands the HTML report to the page as a download."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from audit_samples import write_sample

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "release.jsonl"
    write_sample(log)
    port = free_port()
    env = {**os.environ, "SSH_AUTH_SOCK": "/tmp/agent.sock", "ANNOTUI_TEST_TOKEN": "s3cret"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "annotui.cli", "review", str(log), "--serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("the server did not start") from None
            time.sleep(0.2)
    try:
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def session_environments(log: Path) -> list[dict[str, str]]:
    """The environments of the served viewer processes of `log` (from /proc)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"--served" not in cmdline or str(log).encode() not in cmdline:
                continue
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
        found.append({k.decode(): v.decode(errors="replace") for k, _, v in pairs})
    return found


async def read_screen(ws: aiohttp.ClientWebSocketResponse, until: str, timeout: float) -> str:
    seen = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while until not in ANSI.sub("", seen):
        left = deadline - loop.time()
        if left <= 0:
            raise AssertionError(f"{until!r} never showed; saw:\n{ANSI.sub('', seen)[-2000:]}")
        msg = await ws.receive(timeout=left)
        if msg.type == aiohttp.WSMsgType.TEXT:
            seen += msg.data
        elif msg.type == aiohttp.WSMsgType.BINARY:
            seen += msg.data.decode("utf-8", "replace")
        elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            raise AssertionError("the websocket closed")
    return seen


async def test_the_served_page_shows_the_verify_banner(served: tuple[str, Path]) -> None:
    url, log = served
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/") as page:
            assert page.status == 200
            assert "/ws" in await page.text()
        async with http.ws_connect(url.replace("http", "ws") + "/ws?width=100&height=30") as ws:
            await read_screen(ws, "INTACT", timeout=30)
            envs = session_environments(log)
            assert envs, "no served viewer process found"
            for env in envs:
                assert "SSH_AUTH_SOCK" not in env and "ANNOTUI_TEST_TOKEN" not in env
                assert env["TEXTUAL_DRIVER"].endswith("WebDriver")
                assert not os.access(env["HOME"], os.W_OK) or os.geteuid() == 0
            # h: the HTML report, offered to the page as a download (no file is written)
            await ws.send_str(json.dumps(["stdin", "h"]))
            key = None
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while key is None and loop.time() < deadline:
                msg = await ws.receive(timeout=deadline - loop.time())
                if msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith("["):
                    envelope = json.loads(msg.data)
                    if envelope[0] == "deliver_file_start":
                        key = envelope[1]
            assert key is not None, "the report was not offered for download"
            async with http.get(f"{url}/download/{key}") as download:  # while the page is open
                assert download.status == 200
                body = await download.text()
    assert "<html" in body.lower() and "release.jsonl" in body
    assert not list(log.parent.glob("*.report.*"))  # nothing written next to the log


def test_a_bad_port_is_refused_in_one_line(tmp_path: Path) -> None:
    log = tmp_path / "release.jsonl"
    write_sample(log)
    r = subprocess.run(
        [sys.executable, "-m", "annotui.cli", "review", str(log), "--serve", "--port", "99999"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert r.returncode == 2 and "not a TCP port" in r.stderr and "Traceback" not in r.stderr
