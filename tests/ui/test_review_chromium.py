"""`annotui review PATH --serve` loaded by a real headless Chromium (Debian's `chromium`), driven
over the Chrome DevTools Protocol: the page's own JavaScript opens the websocket, receives the
viewer's screen and shows the log's verify banner; a screenshot of the page is kept for review."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import test_review_serve
from test_review_serve import ANSI

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_COPY = Path("/work/notes/review-chromium.png")
served = test_review_serve.served  # the served viewer of a real sample log, stopped by PID

# Installed before the page's scripts run: every message the page's websockets receive, text or
# binary (decoded as UTF-8), is appended to window.__received.
RECORD_WEBSOCKET = """
window.__received = [];
const Recorded = class extends window.WebSocket {
  constructor(...args) {
    super(...args);
    const decoder = new TextDecoder();
    this.addEventListener("message", (event) => {
      const data = event.data;
      if (typeof data === "string") window.__received.push(data);
      else if (data instanceof ArrayBuffer) window.__received.push(decoder.decode(data));
      else if (data instanceof Blob) data.text().then((text) => window.__received.push(text));
    });
  }
};
window.WebSocket = Recorded;
"""


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[int]:
    """A headless Chromium in its own process group, DevTools on 127.0.0.1; yields the port."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium"
        )
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    proc = subprocess.Popen(
        [
            str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "--window-size=1100,700",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--proxy-server=http://127.0.0.1:9",  # nothing beyond 127.0.0.1 (loopback bypasses it)
            "about:blank",
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (active.exists() and active.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"chromium did not open DevTools (exit {proc.poll()})")
            time.sleep(0.05)
        yield int(active.read_text().split()[0])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the browser, its zygote and renderers: one group
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while (left := chromium_processes(proc.pid, profile)) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"chromium processes outlived SIGTERM by 30 s: {left}"


def chromium_processes(pgid: int, profile: Path) -> list[int]:
    """The live (not zombie) processes of group `pgid`, or naming `profile` (the crash handler
    runs in a session of its own), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if fields[0] != "Z" and (int(fields[2]) == pgid or str(profile).encode() in cmdline):
                found.append(int(entry))
    return found


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page target's websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.ws.receive(timeout=max(deadline - loop.time(), 0.01))
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"DevTools websocket ended: {msg.type}")
            reply = json.loads(msg.data)
            if reply.get("id") == ident:  # events (no id) are skipped
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return dict(reply["result"])

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")


async def load_in_chromium(
    devtools_port: int, url: str, until: tuple[str, ...]
) -> tuple[str, bytes, float]:
    """Navigate Chromium's page to `url`; once the screen its websocket received shows one of
    `until`: that screen (ANSI stripped), a PNG screenshot, and the seconds it took."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as listing:
            targets = await listing.json()
        page = next(t for t in targets if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            cdp = DevTools(ws)
            await cdp.call("Page.enable")
            await cdp.call("Page.addScriptToEvaluateOnNewDocument", source=RECORD_WEBSOCKET)
            started = time.monotonic()
            navigated = await cdp.call("Page.navigate", url=url + "/")
            assert "errorText" not in navigated, navigated
            screen = ""
            while not any(text in screen for text in until):
                if time.monotonic() > started + 60:
                    raise AssertionError(f"the page never showed {until}; got:\n{screen[-2000:]}")
                await asyncio.sleep(0.1)
                screen = ANSI.sub("", await cdp.evaluate("window.__received.join('')"))
            seconds = time.monotonic() - started
            # the page's own code connected: textual.js marks the body once its websocket opened
            assert await cdp.evaluate("document.body.classList.contains('-loaded')")
            assert not await cdp.evaluate("document.body.classList.contains('-closed')")
            # let xterm.js paint what it received (two animation frames and a moment), then capture
            await cdp.evaluate(
                "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            await asyncio.sleep(0.5)
            shot = base64.b64decode(
                (await cdp.call("Page.captureScreenshot", format="png"))["data"]
            )
    assert shot.startswith(b"\x89PNG\r\n\x1a\n") and len(shot) > 10_000, len(shot)
    return screen, shot, seconds


BANNERS = ("✔ INTACT", "✘ BROKEN")


async def test_chromium_shows_the_verify_banner_of_an_intact_log(
    served: tuple[str, Path], chromium: int, tmp_path: Path
) -> None:
    url, log = served
    screen, shot, seconds = await load_in_chromium(chromium, url, BANNERS)
    assert "✔ INTACT" in screen and "✘ BROKEN" not in screen
    assert f"records  {log.name}" in screen
    (tmp_path / "review-chromium.png").write_bytes(shot)
    if SCREENSHOT_COPY.parent.is_dir():  # kept for the closing note of issue 16
        SCREENSHOT_COPY.write_bytes(shot)
    print(f"INTACT shown {seconds:.2f} s after navigation; screenshot {len(shot)} bytes")


async def test_chromium_shows_a_tampered_log_as_broken(
    served: tuple[str, Path], chromium: int
) -> None:
    url, log = served
    lines = log.read_text().splitlines(keepends=True)
    assert '"value":"v2.4.1"' in lines[1]
    lines[1] = lines[1].replace('"value":"v2.4.1"', '"value":"v2.4.9"')  # each session reads anew
    log.write_text("".join(lines))
    screen, _shot, _seconds = await load_in_chromium(chromium, url, BANNERS)
    assert "✘ BROKEN at line" in screen and "✔ INTACT" not in screen
