"""`annotui run --plain` end to end, with real subprocesses and real files."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engine_cli import CHECKLISTS, annotui_cmd, read_log


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def work(tmp_path: Path) -> Path:
    w = tmp_path / "work"
    w.mkdir()
    return w


def run_plain(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    checklist: str,
    work: Path,
    audit: Path,
    *more: str,
    input: str = "",
) -> subprocess.CompletedProcess[str]:
    """`annotui run CHECKLIST --plain --var work=WORK --audit AUDIT MORE...` in a subprocess."""
    return run_cli(
        "run", CHECKLISTS / checklist, "--plain", "--var", f"work={work}", "--audit", audit, *more,
        input=input,
    )  # fmt: skip


def test_every_local_kind_runs_end_to_end(run_cli, tmp_path, work):
    (work / "jobs").write_text("0\n")
    audit = tmp_path / "audit.jsonl"
    r = run_plain(
        run_cli, "local.toml", work, audit, "--yes", input="https://gitlab.example/issues/1\n"
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert (work / "marker.txt").read_text() == "v1.2.3\n"
    assert (work / "staging").is_dir() and (work / "prod").is_dir()
    recs = read_log(audit)
    assert recs[0]["event"] == "session.start" and recs[0]["mode"] == "live"
    finished = {r["step_key"]: r["outcome"] for r in recs if r["event"] == "step.finished"}
    assert finished == {
        "prepare/release-issue": "ok",
        "prepare/write-marker": "ok",
        "prepare/marker-content": "ok",
        **{
            f"deploy[{e}]/{s}": "ok"
            for e in ("staging", "prod")
            for s in ("no-jobs", "mkdir-env", "perms", "listing")
        },
        "announce/announcement": "ok",
    }
    evidence = [r for r in recs if r["event"] == "step.evidence"]
    assert evidence[0]["text"] == "https://gitlab.example/issues/1"
    gates = [r for r in recs if r["event"] == "gate.eval"]
    assert gates and all(g["value"] == 0 for g in gates)
    announce = [r for r in recs if r["event"] == "announce"]
    assert announce[0]["text"] == "Release v1.2.3 is deployed."
    assert recs[-2]["event"] == "session.end" and recs[-2]["exit_code"] == 0
    assert recs[-1]["event"] == "seal"  # the session's final seal
    v = run_cli("audit", "verify", audit)
    assert v.returncode == 0, v.stdout + v.stderr
    # stages in order: staging entirely before prod
    order = [r["stage_key"] for r in recs if r["event"] == "stage.start"]
    assert order == ["prepare", "deploy[staging]", "deploy[prod]", "announce"]


def test_rehearsal_changes_nothing_but_really_runs_checks(run_cli, tmp_path, work):
    (work / "jobs").write_text("0\n")
    (work / "marker.txt").write_text("v1.2.3\n")
    before = tree(work)
    audit = tmp_path / "audit.jsonl"
    r = run_plain(run_cli, "local.toml", work, audit, "--yes", "--rehearse")
    assert r.returncode == 0, r.stdout + r.stderr
    assert tree(work) == before
    assert not (work / "staging").exists()
    recs = read_log(audit)
    assert recs[0]["mode"] == "rehearsal"
    finished = {r["step_key"]: r for r in recs if r["event"] == "step.finished"}
    assert finished["prepare/write-marker"]["outcome"] == "would-run"
    assert "printf" in finished["prepare/write-marker"]["message"]
    # a check after a simulated change in its stage cannot hold: recorded as unverified
    perms = finished["deploy[staging]/perms"]
    assert perms["outcome"] == "unverified" and "simulated" in perms["message"]
    # a check with no simulated change before it in its stage counts for real
    assert finished["prepare/marker-content"]["outcome"] == "ok"
    # the read-only check really ran: its output is in the log
    out = [
        r for r in recs if r["event"] == "step.output" and r["step_key"] == "prepare/marker-content"
    ]
    assert out and out[0]["text"] == "v1.2.3"
    # changes = false commands really run too
    listing = [
        r
        for r in recs
        if r["event"] == "step.output" and r["step_key"] == "deploy[staging]/listing"
    ]
    assert listing and "marker.txt" in listing[0]["text"].split("\n")


def test_typed_word_skip_reason_critical_and_failure(run_cli, tmp_path, work):
    audit = tmp_path / "audit.jsonl"
    answers = (
        "\n".join(
            [
                "staging",  # wrong word for the typed step
                "prod",  # right word
                "s",  # skip without reason: refused
                "s not needed",  # critical: refused
                "y",  # run the critical step
                "s   ",  # optional: empty reason refused
                "s done by hand earlier",
                "y",  # the failing check
                "q",  # after the failure: stop
            ]
        )
        + "\n"
    )
    r = run_plain(run_cli, "confirm.toml", work, audit, input=answers)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "type 'prod' exactly" in r.stdout
    assert "critical and cannot be skipped" in r.stdout
    assert "skipping needs a reason" in r.stdout
    assert (work / "typed.done").exists() and (work / "critical.done").exists()
    assert not (work / "optional.done").exists()
    recs = read_log(audit)
    confirmed = [r for r in recs if r["event"] == "step.confirmed"]
    assert confirmed[0]["word"] == "prod" and confirmed[0]["auto"] is False
    skipped = [r for r in recs if r["event"] == "step.skipped"]
    assert skipped == [dict(skipped[0], step_key="one/optional", reason="done by hand earlier")]
    failed = [r for r in recs if r["event"] == "step.finished" and r["outcome"] == "failed"]
    assert failed[0]["expectation"] == "expected 'yes', got 'nope'"


def test_yes_still_reads_typed_words(run_cli, tmp_path, work):
    r = run_plain(run_cli, "confirm.toml", work, tmp_path / "a.jsonl", "--yes", input="")
    # no stdin for the typed word: the run stops (resumable), nothing ran
    assert r.returncode == 3, r.stdout + r.stderr
    assert not (work / "typed.done").exists()


def test_bad_var_is_exit_2_without_traceback(run_cli, tmp_path):
    r = run_cli(
        "run",
        CHECKLISTS / "local.toml",
        "--plain",
        "--yes",
        "--var",
        "release=banana",
        "--var",
        f"work={tmp_path}",
    )
    assert r.returncode == 2
    assert "release" in r.stderr and "must match" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    r = run_cli("run", CHECKLISTS / "local.toml", "--plain", "--var", "nosuch=1")
    assert r.returncode == 2 and "no such var" in r.stderr
    r = run_cli("run", CHECKLISTS / "local.toml", "--plain", "--var", "oops")
    assert r.returncode == 2 and "NAME=VALUE" in r.stderr


def run_hostile(
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    value: str,
    out: Path,
    audit: Path,
    token: str,
) -> subprocess.CompletedProcess[str]:
    """hostile.toml with --yes: its command writes its argv (the value) as JSON to `out`; the
    token comes from the environment."""
    return run_cli(
        "run", CHECKLISTS / "hostile.toml", "--plain", "--yes", "--var", f"value={value}",
        "--var", f"out={out}", "--audit", audit, env={"HOSTILE_TOKEN": token},
    )  # fmt: skip


def test_hostile_values_reach_the_command_intact(run_cli, tmp_path):
    values = [
        "x; touch PWNED",
        "$(touch PWNED)",
        "`touch PWNED`",
        'it\'s "quoted"',
        "two\nlines",
        "*",
        "--help",
        "${HOME}",
        "a\\b",
        " leading space",
    ]
    for i, value in enumerate(values):
        out = tmp_path / f"argv{i}.json"
        r = run_hostile(run_cli, value, out, tmp_path / f"a{i}.jsonl", token="t0k3n")
        assert r.returncode == 0, (value, r.stdout, r.stderr)
        assert json.loads(out.read_text()) == [value]
    assert not list(tmp_path.rglob("PWNED"))


def test_secret_appears_nowhere(run_cli, tmp_path):
    secret = "s3cr3t-Pa55"
    audit = tmp_path / "audit.jsonl"
    r = run_hostile(run_cli, "v", tmp_path / "o.json", audit, token=secret)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "token is ***" in r.stdout
    outputs = [r.stdout, r.stderr, audit.read_text()]
    for args in (
        ("audit", "show", audit),
        ("audit", "report", audit),
        ("audit", "report", audit, "--format", "html"),
    ):
        shown = run_cli(*args)
        assert shown.returncode == 0, shown.stderr
        outputs.append(shown.stdout)
    for text in outputs:
        assert secret not in text


def _wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size > 0):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@contextlib.contextmanager
def long_run(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen[str]]]:
    """`annotui run long.toml --plain --yes` in the background, once its long step has started:
    (work dir, audit log, process); killed on the way out if it is still running."""
    work = tmp_path / "work"
    work.mkdir()
    audit = tmp_path / "audit.jsonl"
    cmd = annotui_cmd("run", CHECKLISTS / "long.toml", "--plain", "--yes", "--var", f"work={work}",
                      "--audit", audit)  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
    )  # fmt: skip
    try:
        _wait_for(work / "long.started")
        yield work, audit, proc
    finally:
        if proc.poll() is None:
            proc.kill()


def long_step_outcomes(audit: Path) -> list[str]:
    """The outcomes recorded for main/long, in order."""
    return [
        r["outcome"]
        for r in read_log(audit)
        if r["event"] == "step.finished" and r["step_key"] == "main/long"
    ]


def _kill_step_group(work: Path) -> None:
    """End the step's process group (its shell wrote its PID, the group id, to long.started)."""
    pid = int((work / "long.started").read_text() or 0)
    if pid > 1:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def test_kill_9_mid_step_then_resume(run_cli, tmp_path):
    with long_run(tmp_path) as (work, audit, proc):
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    _kill_step_group(work)
    assert (work / "first.count").read_text() == "x\n"
    # resume: the long step's outcome is unknown; the operator chooses to mark it done
    answer = "d checked by hand: long.finished absent\n"
    r = run_plain(run_cli, "long.toml", work, audit, "--yes", "--resume", input=answer)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "outcome unknown" in r.stdout
    assert (work / "first.count").read_text() == "x\n"  # finished steps are not run again
    assert (work / "last.count").read_text() == "x\n"
    recs = read_log(audit)
    assert any(r["event"] == "session.resume" for r in recs)
    unknown = [r for r in recs if r["event"] == "step.unknown"]
    assert [u["step_key"] for u in unknown] == ["main/long"]
    assert long_step_outcomes(audit)[-1] == "done"
    v = run_cli("audit", "verify", audit)
    assert v.returncode == 0, v.stdout + v.stderr


def test_second_process_on_same_log_is_refused(run_cli, tmp_path):
    with long_run(tmp_path) as (work, audit, first):
        second = run_plain(run_cli, "long.toml", work, audit, "--yes", "--resume")
        assert second.returncode == 2
        assert f"pid {first.pid}" in second.stderr, second.stderr
        assert first.poll() is None  # the first goes on
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=20)
    assert first.returncode == 3, out + err
    assert not (work / "long.finished").exists()  # the running command was stopped
    assert any(r["event"] == "session.interrupted" for r in read_log(audit))
    # a mutating step stopped part-way may have had its effect: unknown, so resume asks (issue 12)
    assert long_step_outcomes(audit)[0] == "unknown"


def test_double_ctrl_c_cancels_the_running_step(tmp_path):
    with long_run(tmp_path) as (work, audit, proc):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None  # one Ctrl-C only asks
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert "again within 3 s" in err
    # cancelled step, then --yes answers the failure question with stop: exit 1
    assert proc.returncode == 1, out + err
    # a mutating step stopped part-way may have had its effect: unknown, so resume asks (issue 12)
    assert long_step_outcomes(audit)[0] == "unknown"
    assert not (work / "last.count").exists()
