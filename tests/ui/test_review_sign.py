"""Sign-off and approve as actions of `annotui review` (the reviewer's viewer), with real
OpenSSH: keys made by ssh-keygen, a real ssh-agent, real runs of annotui writing the logs. The
viewer signs in a worker through the code paths of `annotui audit sign-off` and `audit approve`,
and says on screen what it did or why it could not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from annotui.audit import proof
from screens.audit_viewer import AuditViewerScreen, ReviewApp
from screens.sign import SignScreen
from tests.audit.sshkeys import Agent, Key, agent, allowed_signers, make_key  # noqa: F401

CHECKLIST = Path(__file__).parent / "checklists" / "approval.toml"
ANNOTUI = [sys.executable, "-m", "annotui.cli"]
STEP = "release[staging]/approve"


async def wait_until(pilot: Pilot, cond: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {cond}")
        await pilot.pause(0.05)


def world(tmp_path: Path) -> tuple[Path, dict[str, Key], Path]:
    keys = {n: make_key(tmp_path / "keys", n) for n in ("operator", "reviewer")}
    checklist = tmp_path / "approval.toml"
    shutil.copy(CHECKLIST, checklist)
    signers = allowed_signers(
        tmp_path / "allowed_signers",
        ("alice@example", keys["operator"], ""),
        ("bob@example", keys["reviewer"], ""),
    )
    (tmp_path / "work").mkdir()
    return checklist, keys, signers


def run_args(tmp_path: Path, checklist: Path, key: Key, *extra: str) -> list[str]:
    return [*ANNOTUI, "run", str(checklist), "--plain", "--yes", "--var",
            f"work={tmp_path / 'work'}", "--audit", str(tmp_path / "a.jsonl"),
            "--sign-with", str(key.private), *extra]  # fmt: skip


def result_text(app: ReviewApp) -> str:
    screen = app.screen_stack[1] if len(app.screen_stack) > 1 else app.screen
    assert isinstance(screen, AuditViewerScreen)
    box = screen.query_one("#proof-result", Static)
    return str(box.render()) if box.classes & {"done", "failed"} else ""


async def sign_in_dialog(pilot: Pilot, action: str, note: str) -> tuple[str, str]:
    """Open the dialog with ``action``, type the note, Enter; returns the dialog's title and
    the key it offered."""
    await pilot.press(action)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SignScreen))
    dialog = pilot.app.screen
    assert isinstance(dialog, SignScreen)
    await pilot.pause(0.2)
    offered = dialog.query_one("#sign-key", Input).value
    await pilot.press(*note, "enter")
    return dialog.dialog_title, offered


async def test_the_reviewer_signs_off_from_the_viewer(
    tmp_path: Path,
    agent: Agent,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checklist, keys, signers = world(tmp_path)
    done = subprocess.run(
        run_args(tmp_path, checklist, keys["operator"], "--rehearse"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path / "a.jsonl"
    # the reviewer's key is in their ssh-agent: the viewer is given its public half
    agent.add(keys["reviewer"])
    monkeypatch.setenv("SSH_AUTH_SOCK", str(agent.sock))
    signing_threads: list[str] = []
    real = proof.sign_off

    def spy(*args: object, **kwargs: object) -> dict[str, object]:
        signing_threads.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(proof, "sign_off", spy)  # only to see which thread signs
    app = ReviewApp(log, sign_with=str(keys["reviewer"].public))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: getattr(app.screen, "verdict", None) is not None)
        title, offered = await sign_in_dialog(pilot, "s", "reviewed, fine")
        assert title == "Sign off this log" and offered == str(keys["reviewer"].public)
        await wait_until(pilot, lambda: result_text(app))
        shown = result_text(app)
        assert shown.startswith(f"✔ signed off {log} (the final seal, seq "), shown
        assert keys["reviewer"].fingerprint() in shown and "a.jsonl.signoffs" in shown
    assert signing_threads and signing_threads[0] != threading.main_thread().name
    entry = json.loads((tmp_path / "a.jsonl.signoffs").read_text())
    assert entry["note"] == "reviewed, fine"
    v = subprocess.run(
        [*ANNOTUI, "audit", "verify", str(log), "--allowed-signers", str(signers)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert v.returncode == 0, v.stdout
    assert f"signed off by bob@example ({keys['reviewer'].fingerprint()})" in v.stdout
    assert "reviewed, fine" in v.stdout


async def test_a_key_that_cannot_sign_is_said_on_screen(tmp_path: Path) -> None:
    checklist, keys, _signers = world(tmp_path)
    subprocess.run(
        run_args(tmp_path, checklist, keys["operator"], "--rehearse"),
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    log = tmp_path / "a.jsonl"
    app = ReviewApp(log, sign_with=str(tmp_path / "no-such-key"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: getattr(app.screen, "verdict", None) is not None)
        await sign_in_dialog(pilot, "s", "")
        await wait_until(pilot, lambda: result_text(app))
        shown = result_text(app)
        assert shown.startswith("✘ NOT SIGNED OFF: cannot sign with"), shown
        assert "\n" not in shown
    assert not (tmp_path / "a.jsonl.signoffs").exists()


async def test_the_reviewer_approves_a_waiting_run_from_the_viewer(tmp_path: Path) -> None:
    checklist, keys, _signers = world(tmp_path)
    log = tmp_path / "a.jsonl"
    run = subprocess.Popen(
        run_args(tmp_path, checklist, keys["operator"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and '"approval.wait"' in log.read_text()):
            assert run.poll() is None and time.monotonic() < deadline, "the run did not wait"
            time.sleep(0.1)
        app = ReviewApp(log, sign_with=str(keys["reviewer"].private))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_until(pilot, lambda: getattr(app.screen, "verdict", None) is not None)
            title, _key = await sign_in_dialog(pilot, "a", "ship it")
            assert title == f"Approve {STEP}"
            await wait_until(pilot, lambda: result_text(app))
            shown = result_text(app)
            assert shown.startswith(f"✔ approval of {STEP} signed with "), shown
            out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, out + err
    records = [json.loads(x) for x in log.read_text().splitlines()]
    granted = [r for r in records if r["event"] == "approval.granted"]
    assert [(g["principal"], g["note"]) for g in granted] == [("bob@example", "ship it")]
    assert (tmp_path / "work" / "deployed.txt").read_text() == "deployed\n"


async def test_approve_says_when_nothing_waits(tmp_path: Path) -> None:
    checklist, keys, _signers = world(tmp_path)
    subprocess.run(
        run_args(tmp_path, checklist, keys["operator"], "--rehearse"),
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    app = ReviewApp(tmp_path / "a.jsonl", sign_with=str(keys["reviewer"].private))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: getattr(app.screen, "verdict", None) is not None)
        await pilot.press("a")
        await wait_until(pilot, lambda: result_text(app))
        assert result_text(app) == "✘ nothing approved: no step of this log is waiting for approval"
        assert not isinstance(app.screen, SignScreen)
