"""The crash loop (issue 12): runs of a checklist of counted mutating steps, interrupted at random
moments by `kill -9`, SIGTERM and SIGHUP, in plain mode (`annotui run --plain --yes`) and in the
cockpit (a real tmux pane, where `tmux kill-server` drops the terminal too), each followed by
plain-mode resumes (themselves interrupted at random) until the run is done.

Every mutating step appends `KEY start PID` to a counter file as its first act and `KEY end` as
its last. The operator at a resume looks at that file: a step whose last execution ended is
marked done with that evidence; one cut off is finished by hand and marked done, or run again;
one never started is run again (now and then a finished one too, so that both answers are
exercised). Both are recorded decisions.

After every interruption the log verifies or names its torn tail, and a SIGTERM/SIGHUP leaves no
command alive and the target lock released (or, when the signal came before annotui set up its
handlers, left the log exactly as it was). At the end of each run: the log verifies, every
`step.started` of a mutating step after its first follows an operator's "run again" to its
outcome-unknown question (`step.unknown`, then a `step.confirmed` not answered by --yes), no
command ran without its `step.started`, every step took effect, and no command outlived the run.

Default: 30 interruptions (~1.5 min on 2 shared cores); about a third of the runs start in the
cockpit, which takes each of its four ways in turn, the rest and every resume in plain mode;
`ANNOTUI_CRASH_RUNS=300` for more, `ANNOTUI_CRASH_SEED` to replay a sequence of signals and
moments (printed; the machine's timing still varies). Run alone: `pytest -m crash_loop -s`.
"""

from __future__ import annotations

import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from procs import alive, child_of, wait_until
from tmux_pane import TmuxPane

from annotui.transport.base import KILL_GRACE

pytestmark = pytest.mark.crash_loop

ANNOTUI = [sys.executable, "-m", "annotui.cli"]
RUNS = int(os.environ.get("ANNOTUI_CRASH_RUNS", "30"))
SEED = int(os.environ.get("ANNOTUI_CRASH_SEED", "20261203"))
COCKPIT_SHARE = 0.3
PROCESS_TIMEOUT = 60.0

# (stage, step, seconds, mutating, noisy): the walk takes ~1.5 s uninterrupted
STEPS = [
    ("prep", "mark", 0.0, True, False),
    ("prep", "look", 0.1, False, False),
    ("prep", "copy", 0.4, True, False),
    ("prep", "noisy", 0.1, True, True),
    ("swap", "stop", 0.2, True, False),
    ("swap", "switch", 0.0, True, False),
    ("swap", "verify", 0.1, False, False),
    ("swap", "start", 0.3, True, False),
]
MUTATING = [f"{stage}/{step}" for stage, step, _, mutating, _ in STEPS if mutating]
PLAIN_SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP]
COCKPIT_WAYS = ["SIGKILL", "SIGTERM", "SIGHUP", "tmux kill-server"]


def _checklist(counter: Path, lock: Path) -> str:
    assert "'" not in f"{counter}{lock}" and " " not in f"{counter}{lock}"
    text = (
        '[checklist]\nid = "crash-loop"\ntitle = "Crash loop"\n'
        f'lock = {{ host = "local", path = "{lock}" }}\n'
    )
    stage = None
    for stage_id, step_id, seconds, mutating, noisy in STEPS:
        if stage_id != stage:
            stage = stage_id
            text += f'\n[[stages]]\nid = "{stage_id}"\ntitle = "Stage {stage_id}"\n'
        key = f"{stage_id}/{step_id}"
        if mutating:
            body = f'echo "{key} start $$" >> {counter}; '
            body += "seq 1 3000; " if noisy else ""
            body += f'sleep {seconds}; echo "{key} end" >> {counter}'
        else:
            body = f"sleep {seconds}; echo looked"
        text += (
            f'\n  [[stages.steps]]\n  id = "{step_id}"\n  kind = "command"\n'
            f'  title = "Step {step_id}"\n  changes = {"true" if mutating else "false"}\n'
            f"  run = '{body}'\n"
        )
    return text


@dataclass
class Tally:
    """What the loop did, for the closing note."""

    processes: int = 0
    interrupted: Counter[str] = field(default_factory=Counter)
    ended_before_signal: int = 0
    before_handlers: int = 0
    """Signals that came before annotui set up its handlers (the log untouched)."""
    after_handlers: int = 0
    """Signals that came after the run had ended and annotui's handlers were gone."""
    before_log: int = 0
    """Interruptions that left no complete record: the next run starts anew."""
    torn_tails: int = 0
    reruns: int = 0
    marked_done: int = 0
    takeovers: int = 0
    double_executions: int = 0
    """Mutating steps that ran more than once, each after an operator's "run again"."""
    campaigns: int = 0
    cockpit_runs: int = 0

    def line(self) -> str:
        kills = ", ".join(f"{k} {v}" for k, v in sorted(self.interrupted.items()))
        return (
            f"crash loop seed={SEED}: {self.campaigns} runs to the end, {self.processes} "
            f"processes, {sum(self.interrupted.values())} interrupted ({kills}); "
            f"{self.ended_before_signal} ended before their signal, {self.before_handlers} "
            f"signalled before annotui's handlers, {self.after_handlers} after them (the run "
            f"over), {self.before_log} before the first record; "
            f"torn tails {self.torn_tails}; decisions: run again {self.reruns}, mark done "
            f"{self.marked_done}; lock take-overs {self.takeovers}; steps run twice after "
            f"'run again' {self.double_executions}"
        )


class World:
    """One run's files: checklist, counter, target lock, audit log."""

    def __init__(self, root: Path, rng: random.Random, tally: Tally) -> None:
        root.mkdir()
        self.root = root
        self.rng = rng
        self.tally = tally
        self.counter = root / "counter"
        self.lock = root / "target.lock"
        self.log = root / "audit.jsonl"
        self.checklist = root / "crash.toml"
        self.checklist.write_text(_checklist(self.counter, self.lock))
        self.env = {**os.environ, "XDG_STATE_HOME": str(root / "state")}
        self.env.pop("TMUX", None)
        self.screen = ""
        """The cockpit's last screen, when it ended before its signal."""

    # -- the operator at a resume ------------------------------------------------------------

    def counted(self) -> tuple[Counter[str], Counter[str], list[int]]:
        """Executions started and ended per step key, and every command's PID."""
        starts: Counter[str] = Counter()
        ends: Counter[str] = Counter()
        pids: list[int] = []
        if self.counter.exists():
            for line in self.counter.read_text().splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] == "start":
                    starts[parts[0]] += 1
                    pids.append(int(parts[2]))
                elif len(parts) == 2 and parts[1] == "end":
                    ends[parts[0]] += 1
        return starts, ends, pids

    def answer(self, transcript: str) -> str:
        """The answer to the prompt that ends ``transcript`` (plain mode's stdout)."""
        last = transcript.rsplit("\n", 1)[-1]
        if "take the lock over" in last:
            self.tally.takeovers += 1
            return "take-over"
        if "'r' to run it again" in last:
            key = transcript.rsplit("\n-- ", 1)[1].split(":", 1)[0]
            starts, ends, _ = self.counted()
            if starts[key] and starts[key] == ends[key] and self.rng.random() < 0.8:
                self.tally.marked_done += 1
                return f"d the counter file shows {key} started {starts[key]}x and ended"
            if starts[key] > ends[key] and self.rng.random() < 0.4:
                with open(self.counter, "a") as f:
                    f.write(f"{key} end\n")  # the operator finishes the job by hand
                self.tally.marked_done += 1
                return f"d {key} was cut off; finished by hand (counter file)"
            self.tally.reruns += 1
            return "r"
        if "Run it? 'y' to run" in last:
            return "y"  # the confirmation again, after "run again"
        raise AssertionError(f"an unexpected prompt: {last!r}\n{transcript}")

    # -- one plain-mode process ----------------------------------------------------------------

    def plain(
        self, *, new: bool, sig: signal.Signals | None, at: float, early: bool = False
    ) -> tuple[int, bool, str]:
        """Run (or resume) in plain mode; send ``sig`` ``at`` seconds after its first output
        (``early``: after its start), if still running. Returns (exit status, whether the
        signal was sent, stdout)."""
        args = ["run", str(self.checklist), "--plain", "--yes", "--audit", str(self.log)]
        args += [] if new else ["--resume"]
        with open(self.root / "stderr", "ab") as err:
            proc = subprocess.Popen(
                [*ANNOTUI, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=self.env,
                cwd=self.root,
            )
        self.tally.processes += 1
        assert proc.stdin is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        out = b""
        answered = 0
        sent = False
        began = time.monotonic()
        start = began if early else None
        try:
            while True:
                assert time.monotonic() - began < PROCESS_TIMEOUT, (
                    f"annotui hung:\n{out.decode(errors='replace')}"
                )
                now = -1.0 if start is None else time.monotonic() - start
                if sig is not None and not sent and start is not None and now >= at:
                    if proc.poll() is not None:
                        break
                    proc.send_signal(sig)
                    sent = True
                wait = max(0.0, at - now) if sig is not None and not sent else 0.5
                ready, _, _ = select.select([fd], [], [], min(wait, 0.5))
                if not ready:
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                out += chunk
                start = time.monotonic() if start is None else start
                text = out.decode(errors="replace")
                if text.endswith(": ") and len(text) > answered:
                    reply = self.answer(text)
                    answered = len(text)
                    try:
                        proc.stdin.write(reply.encode() + b"\n")
                        proc.stdin.flush()
                    except BrokenPipeError:
                        pass
            code = proc.wait(PROCESS_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()  # only the annotui this test started
                proc.wait()
            for stream in (proc.stdin, proc.stdout):
                stream.close()
        return code, sent, out.decode(errors="replace")

    # -- one cockpit process -------------------------------------------------------------------

    def cockpit(self, tmux_dir: Path, how: str, at: float) -> tuple[int | None, bool]:
        """A new run in the cockpit, stopped ``how`` ``at`` seconds after Start. Returns (exit
        status if the pane saw it, whether the signal was sent)."""
        args = ["run", str(self.checklist), "--yes", "--audit", str(self.log)]
        env = {"XDG_STATE_HOME": self.env["XDG_STATE_HOME"], "PATH": os.environ["PATH"]}
        env["XDG_CACHE_HOME"] = os.environ["XDG_CACHE_HOME"]
        own = tmux_dir / str(self.tally.processes)  # a fresh socket and exit file
        own.mkdir()
        pane = TmuxPane(own, [*ANNOTUI, *args], env=env, cwd=self.root)
        self.tally.processes += 1
        try:
            pane.open_new_run(timeout=30)
            cockpit = child_of(pane.shell_pid())
            pane.send("C-s")
            time.sleep(at)
            if pane.exit_file.exists() or not alive(cockpit):
                self.screen = pane.screen()
                return pane.exit_code(), False
            if how == "tmux kill-server":
                pane.kill()
            else:
                os.kill(cockpit, signal.Signals[how])
            wait_until(lambda: not alive(cockpit), PROCESS_TIMEOUT, "the cockpit to exit")
            return (None if how == "tmux kill-server" else pane.exit_code()), True
        finally:
            pane.kill()

    # -- checks ----------------------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        """The run's records, its seals aside (they are judged by `verify`)."""
        recs = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [r for r in recs if r["event"] != "seal"]

    def verify(self) -> None:
        """`annotui audit verify`: intact (and sealed, or unsealed after a crash: exit 3), or
        the torn tail named."""
        proc = subprocess.run(
            [*ANNOTUI, "audit", "verify", str(self.log)],
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT,
            env=self.env,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        if proc.returncode == 1 and "torn last line" in proc.stdout:
            self.tally.torn_tails += 1
            return
        intact = proc.returncode == 0 and proc.stdout.startswith("intact")  # sealed, or no seals
        unsealed = proc.returncode == 3 and proc.stdout.startswith("intact but unsealed: ")
        assert intact or unsealed, proc.stdout + proc.stderr

    def has_records(self) -> bool:
        return self.log.exists() and b"\n" in self.log.read_bytes()

    def holder(self) -> str | None:
        """The target lock's holder info, None when the lock is free."""
        if not self.lock.exists():
            return None
        held = self.lock / "holder.json"
        return held.read_text() if held.exists() else ""

    def after_stop(
        self, how: str, code: int | None, before: bytes, commands: int, holder: str | None
    ) -> None:
        """SIGTERM, SIGHUP or a lost terminal: the commands this process started stopped, the
        interruption recorded (exit 3) and the lock released; or, when the signal came before
        annotui's handlers, nothing recorded (``before``: the log before this process;
        ``commands``: how many commands had been started before it; ``holder``: the lock's
        holder then: a stale lock left by a kill -9 stays until a run takes it over)."""
        _, _, pids = self.counted()
        left = [pid for pid in pids[commands:] if _group_alive(pid)]
        assert not left, f"{how} (exit {code}): commands outlived annotui: {left}"
        after = self.log.read_bytes() if self.log.exists() else b""
        number = 0 if how == "tmux kill-server" else int(signal.Signals[how])
        if after == before:
            # stopped before it wrote anything (a lock left by an earlier kill -9 may remain)
            if number and code in (-number, 128 + number):
                self.tally.before_handlers += 1
            return
        now = self.holder()
        assert now is None or now == holder, f"{how} (exit {code}): the target lock is held"
        events = [r["event"] for r in self.records()[-3:]]
        assert events[-1] == "session.end", (how, code, events)
        if number and code in (-number, 128 + number):
            # the run had ended, and asyncio removed annotui's handlers on its way out
            self.tally.after_handlers += 1
        elif self.records()[-1]["outcome"] != "done":
            assert "session.interrupted" in events, (how, code, events)
            assert code in (3, None), (how, code)

    def check_run(self) -> None:
        """The run ended: the guarantees over the whole log and the counter file."""
        self.verify()
        records = self.records()
        end = records[-1]
        assert end["event"] == "session.end" and end["exit_code"] == 0, (end, self.screen)
        starts, ends, pids = self.counted()
        for key in MUTATING:
            licence = True  # the first run needs no decision
            started = reruns = 0
            asked = False
            last = None
            for rec in (r for r in records if r.get("step_key") == key):
                event = rec["event"]
                if event == "step.unknown":
                    asked = True
                elif event == "step.confirmed" and asked and not rec["auto"]:
                    licence, asked = True, False
                    reruns += 1
                elif event == "step.started":
                    assert licence, f"{key} started again without a recorded decision"
                    licence = False
                    started += 1
                elif event == "step.finished":
                    last = rec["outcome"]
            assert last in ("ok", "done"), f"{key} ended {last}"
            assert starts[key] <= started, f"{key} ran {starts[key]}x, started {started}x"
            assert starts[key] <= 1 + reruns, f"{key} ran {starts[key]}x, {reruns} reruns chosen"
            assert ends[key] >= 1, f"{key} never took effect"
            self.tally.double_executions += max(0, starts[key] - 1)
        for rec in records:
            if rec["event"] == "session.resume" and rec.get("torn_tail"):
                assert self.root.glob("audit.jsonl.torn-*"), "a torn tail was not kept"
        wait_until(
            lambda: not any(_group_alive(pid) for pid in pids),
            KILL_GRACE + 10,
            "every command to end",
        )
        assert not self.lock.exists(), "the target lock is still held after the run"


def _group_alive(pid: int) -> bool:
    """The command's shell (its own group's leader) is alive."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z" and int(fields[2]) == pid


def _campaign(world: World, tmux_dir: Path, in_cockpit: bool, left: int) -> int:
    """One run from its start to its end; returns how many interruptions it had."""
    rng, tally = world.rng, world.tally
    interruptions = 0
    new = True
    first = True
    while True:
        before = world.log.read_bytes() if world.log.exists() else b""
        commands = len(world.counted()[2])
        holder = world.holder()
        stop = interruptions < min(3, left) and (first or rng.random() < 0.5)
        if first and in_cockpit and shutil.which("tmux"):
            how = COCKPIT_WAYS[tally.cockpit_runs % len(COCKPIT_WAYS)]  # each way in turn
            tally.cockpit_runs += 1
            code, sent = world.cockpit(tmux_dir, how, rng.uniform(0.05, 2.0))
            label = f"cockpit {how}"
        else:
            sig = rng.choice(PLAIN_SIGNALS) if stop else None
            early = rng.random() < 0.15  # in annotui's start-up, else once the run has begun
            at = rng.uniform(0, 0.6) if early else rng.uniform(0, 1.8 if new else 1.2)
            code, sent, out = world.plain(new=new, sig=sig, at=at, early=early)
            how = sig.name if sig is not None else ""
            label = f"plain {how}"
            if not sent:
                assert code == 0, f"exit {code}:\n{out}\n{(world.root / 'stderr').read_text()}"
        first = False
        if not sent:
            if stop:
                tally.ended_before_signal += 1
            world.check_run()
            return interruptions
        interruptions += 1
        tally.interrupted[label] += 1
        if world.log.exists() and world.log.stat().st_size:
            world.verify()
        if how != "SIGKILL":
            world.after_stop(how, code, before, commands, holder)
        new = not world.has_records()
        if new:
            tally.before_log += 1
            world.log.unlink(missing_ok=True)


@pytest.mark.timeout(max(300, RUNS * 10))
def test_crash_loop(tmp_path: Path, tmux_dir: Path) -> None:
    rng = random.Random(SEED)
    tally = Tally()
    print(f"\ncrash loop: seed {SEED} (ANNOTUI_CRASH_SEED), {RUNS} interruptions")
    done = 0
    cockpit_due = 1 - COCKPIT_SHARE  # the first run in the cockpit
    try:
        while done < RUNS:
            cockpit_due += COCKPIT_SHARE
            in_cockpit = cockpit_due >= 1
            cockpit_due -= 1 if in_cockpit else 0
            world = World(tmp_path / f"run{tally.campaigns}", rng, tally)
            done += _campaign(world, tmux_dir, in_cockpit, RUNS - done)
            tally.campaigns += 1
    finally:
        print(tally.line())
    assert sum(tally.interrupted.values()) >= RUNS
