"""The `ansible` step: a playbook run through ansible-runner, per host and per task on record.

ansible-runner's ``run_async`` runs ansible-playbook in its own thread; its ``event_handler`` and
``status_handler`` hand every event to the event loop, which records one ``ansible.result`` per
host x task result, the tasks as they start (``ansible.task``) and the play recap with the exit
status (``ansible.recap``), and streams ansible's own output (``step.output``). annotui's signal
handling stays as it is: cancelling the step sets a flag that runner's ``cancel_callback``
returns, runner stops ansible-playbook, and the hosts that had started and were not done are
recorded (their outcome is unknown: resume asks).

Secrets never reach argv or disk: an extra var whose rendered value holds a secret is written to
a JSON file of mode 0600 in a private (0700) directory on tmpfs (``$XDG_RUNTIME_DIR`` or
/dev/shm: memory, not disk), given as ``-e @FILE`` (argv holds only the path) and removed when
the run ends; the other extra vars are on the command line. Every string value is marked unsafe
(``_literal``): Ansible takes it as text, never as a template of its own.
``suppress_env_files=True``: runner writes no env/ files of its own (its env/settings, written
here, holds no secret). Runner writes no stdout file and keeps no events (the handler returns
False): both would hold the secrets' output; the audit log holds them, redacted. The per-event
files ansible's callback plug-in drops for runner live in the same tmpfs directory. What stays
under the state directory (``ansible/<step>/artifacts/<ident>``, the last ``ROTATE`` runs of
each step) is runner's command, rc, status and fact cache.

On a declared SSH host (``host = "web1"``), ansible runs there: the job goes to
``ansible-runner worker`` on that host over the host's transport and its events come back
through runner's Processor to the same handlers (``annotui.engine.ansible_remote``). Host keys
are checked by ansible too (``ANSIBLE_HOST_KEY_CHECKING=True``: runner would turn it off).

Rehearsal runs the playbook with ``--check --diff``: tasks marked ``check_mode: false`` still
run and change their hosts, and the step says so before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annotui.checklist.template import render
from annotui.engine.ansible_remote import (
    NOT_INSTALLED,
    NOT_STARTED,
    Inbound,
    JobTooLarge,
    job_stream,
    remote_script,
)
from annotui.engine.context import StepContext
from annotui.engine.kinds.base import Shown
from annotui.engine.output import OutputCollector
from annotui.events import (
    AnsibleRecap,
    AnsibleResult,
    AnsibleStatus,
    AnsibleTask,
    Event,
    StepFinished,
    StepOutput,
    StepSpawned,
)
from annotui.transport.base import ConnectionLost, Group, Stream

if TYPE_CHECKING:
    from annotui.checklist.models import AnsibleStep

ROTATE = 10
"""Runs of one step whose artifacts are kept (ansible-runner's rotate_artifacts)."""
POLL = 0.2
"""Seconds between two looks of runner at the cancel flag (its pexpect timeout)."""
KILL_GRACE = 1.0
"""Seconds between SIGTERM to a cancelled play's processes and SIGKILL to what is left."""
STOP_WAIT = 30.0
"""Seconds a cancelled run is given to stop before the step gives up waiting for it."""
MESSAGE = 200
"""Characters of a result's message kept in its record."""
REHEARSAL_WARNING = (
    "rehearsal: ansible-playbook --check --diff: tasks marked check_mode: false still run "
    "and change their hosts"
)
NO_HOSTS = (
    "the play ran on no host: the inventory, its groups or the limit matched none "
    "(ansible-playbook exits 0 then)"
)
"""A play that ran nowhere did nothing the operator asked for: the step fails."""
ENVVARS = {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_HOST_KEY_CHECKING": "True"}
"""ansible's environment: no colours, and host keys checked (runner turns the check off unless
told: ansible's ssh would then add unknown keys with StrictHostKeyChecking=no)."""
RESULTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}
_COUNTS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}
"""playbook_on_stats key -> the recap's name for it."""


def _rendered(step: AnsibleStep, scope: Mapping[str, str]) -> dict[str, Any]:
    def r(text: str | None) -> str | None:
        return render(text, scope, shell=False) if text else None

    inventory = step.inventory
    return {
        "playbook": r(step.playbook) or "",
        "inventory": [r(h) or "" for h in inventory]
        if isinstance(inventory, list)
        else r(inventory),
        "limit": r(step.limit),
        "tags": r(step.tags),
        "extra_vars": {
            k: render(v, scope, shell=False) if isinstance(v, str) else v
            for k, v in step.extra_vars.items()
        },
    }


def _command(rendered: Mapping[str, Any]) -> str:
    """What the operator is shown: the ansible-playbook command line (secrets masked later)."""
    inventory = rendered["inventory"]
    inv = ",".join(inventory) + "," if isinstance(inventory, list) else inventory
    words = ["ansible-playbook", rendered["playbook"], "-i", inv]
    for flag in ("limit", "tags"):
        if rendered[flag]:
            words += [f"--{flag}", rendered[flag]]
    for k, v in rendered["extra_vars"].items():
        words += ["-e", f"{k}={json.dumps(v) if not isinstance(v, str) else v}"]
    return shlex.join(words)


def _tmpfs() -> str | None:
    """A directory on tmpfs for this user's short-lived files (None: there is none)."""
    # mkdtemp makes a private (0700) directory of a unique name in it
    for base in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):  # noqa: S108
        if base and os.path.isdir(base) and os.access(base, os.W_OK):
            return base
    return None


def _short(result: Mapping[str, Any]) -> str:
    text = result.get("msg") or result.get("stderr") or result.get("stdout") or ""
    if not isinstance(text, str):
        text = json.dumps(text, default=str)
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first[:MESSAGE] + ("..." if len(first) > MESSAGE else "")


def _digest(data: Mapping[str, Any]) -> str:
    raw = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class _Play:
    """The events of one run, taken on the event loop."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.key = ctx.planned.key
        self.out = OutputCollector(self.key, ctx.emit, ctx.redact, keep_stdout=False)
        self.started: dict[str, None] = {}
        """Hosts that started a task, in order."""
        self.recap: dict[str, dict[str, int]] | None = None
        self.results = 0
        self.changed = 0
        self.status = "starting"

    def event(self, data: Mapping[str, Any]) -> None:
        red = self.ctx.redact
        stdout = data.get("stdout")
        if isinstance(stdout, str) and stdout:
            for line in stdout.splitlines():
                self.out("stdout", line)
        name = data.get("event")
        ed = data.get("event_data") or {}
        if name == "playbook_on_task_start":
            self.out.flush()
            self.ctx.emit(
                AnsibleTask(self.key, red(str(ed.get("play", ""))), red(str(ed.get("task", ""))))
            )
        elif name == "runner_on_start" and ed.get("host"):
            self.started[str(ed["host"])] = None
        elif name in RESULTS:
            res = ed.get("res") or {}
            status: AnsibleStatus = RESULTS[name]  # type: ignore[assignment]
            if status == "ok" and res.get("changed"):
                status = "changed"
            message = _short(res)
            if status == "failed" and ed.get("ignore_errors"):
                message = "(ignored) " + message
            duration = ed.get("duration")
            self.results += 1
            self.changed += status == "changed"
            self.out.flush()
            self.ctx.emit(
                AnsibleResult(
                    self.key,
                    red(str(ed.get("host", ""))),
                    red(str(ed.get("task", ""))),
                    str(ed.get("task_action", "")),
                    status,
                    round(float(duration), 3) if isinstance(duration, int | float) else None,
                    red(message),
                    _digest(data),
                )
            )
        elif name == "playbook_on_stats":
            hosts: dict[str, dict[str, int]] = {}
            for field, label in _COUNTS.items():
                for host, count in (ed.get(field) or {}).items():
                    hosts.setdefault(str(host), dict.fromkeys(_COUNTS.values(), 0))[label] = int(
                        count
                    )
            for host in ed.get("processed") or {}:
                hosts.setdefault(str(host), dict.fromkeys(_COUNTS.values(), 0))
            self.recap = hosts

    def unfinished(self) -> list[str]:
        """Hosts that started and have no recap: what they did is unknown."""
        done = self.recap or {}
        return [h for h in self.started if h not in done]

    def record(self, rc: int | None, status: str, unfinished: list[str] | None = None) -> None:
        self.out.flush()
        red = self.ctx.redact
        hosts = {red(h): counts for h, counts in (self.recap or {}).items()}
        self.ctx.emit(AnsibleRecap(self.key, hosts, rc, status, [red(h) for h in unfinished or []]))


def _path() -> str:
    """PATH with this interpreter's directory first: the ansible-playbook installed with annotui
    (runner looks it up by name; a `binary` would make it leave out the playbook)."""
    here = str(Path(sys.executable).parent)
    return os.pathsep.join([here, *(p for p in os.environ.get("PATH", "").split(os.pathsep) if p)])


def _literal(value: Any) -> Any:
    """An extra var's rendered value as ansible must take it: a string is marked unsafe
    (`__ansible_unsafe`, which Ansible's JSON reading of `-e` and of env/extravars honours), so
    Ansible never evaluates a `{{ ... }}` or `{% ... %}` that a var's value holds (a value
    `{{ lookup('pipe', 'id') }}` would run a command on the controller). Other values are the
    checklist's own TOML (not rendered): as they are."""
    return {"__ansible_unsafe": value} if isinstance(value, str) else value


def _private_file(path: Path, data: Mapping[str, Any]) -> str:
    """Write JSON to a new file only this user can read (on tmpfs: memory, not disk)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return str(path)


def _settings(private_data_dir: Path, timeout: float | None) -> dict[str, Any]:
    """runner's env/settings (no secret in it): runner reads its settings from this file only
    (a `settings` argument is dropped when the file is missing)."""
    settings: dict[str, Any] = {
        "pexpect_timeout": POLL,
        "suppress_ansible_output": True,
        "suppress_output_file": True,
    }
    if timeout:
        settings["job_timeout"] = int(max(1, timeout))
    env = private_data_dir / "env"
    env.mkdir(parents=True, exist_ok=True, mode=0o700)
    (env / "settings").write_text(json.dumps(settings))
    return settings


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _playbook_tree() -> list[int]:
    """The ansible-playbook processes this process started and everything under them: its
    forks run in sessions of their own, out of reach of runner's kill of its process group."""
    tree = _children()
    roots = []
    for pid in tree.get(os.getpid(), []):
        with contextlib.suppress(OSError):
            if b"ansible-playbook" in Path(f"/proc/{pid}/cmdline").read_bytes():
                roots.append(pid)
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += tree.get(pid, [])
    return found


def _signal_groups(pids: list[int], sig: signal.Signals) -> None:
    groups = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    groups.discard(os.getpgid(0))
    for group in groups:
        with contextlib.suppress(OSError):
            os.killpg(group, sig)


def _stop(stop: threading.Event) -> list[int]:
    """Cancel: every process group of the play gets SIGTERM, and runner's cancel callback
    answers True (runner then kills ansible-playbook's own group). Returns the pids seen."""
    pids = _playbook_tree()
    _signal_groups(pids, signal.SIGTERM)
    stop.set()
    return pids


def _state(ctx: StepContext) -> tuple[Path, Path, str]:
    """The step's directory under the state directory, its artifacts and this run's ident
    (whose artifact directory is made)."""
    state = (
        (ctx.state_dir or Path(tempfile.gettempdir()))
        / "ansible"
        / re.sub(r"[^A-Za-z0-9_.-]", "_", ctx.planned.key)
    )
    artifacts = state / "artifacts"
    ident = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    (artifacts / ident).mkdir(parents=True, exist_ok=True, mode=0o700)
    return state, artifacts, ident


def _start(kwargs: dict[str, Any]) -> tuple[threading.Thread, Any]:
    import ansible_runner

    thread, runner = ansible_runner.run_async(**kwargs)
    return thread, runner


async def run_ansible(ctx: StepContext, check: bool) -> StepFinished:
    planned = ctx.planned
    step = planned.step
    assert step.kind == "ansible"
    key = planned.key
    start = time.monotonic()

    def finished(outcome: str, message: str) -> StepFinished:
        return _finished(ctx, start, outcome, message)

    remote = step.host != "local" and ctx.transports.targets.get(step.host) != "local"
    base = ctx.checklist_dir or Path.cwd()
    rendered = _rendered(step, planned.values)
    playbook = (base / rendered["playbook"]).resolve()
    if not playbook.is_file():
        return finished("failed", f"playbook not found: {playbook}")
    inventory = rendered["inventory"]
    if isinstance(inventory, list):
        inv = ",".join(inventory) + ","
    else:
        inv_path = (base / inventory).resolve()
        if not inv_path.exists():
            return finished("failed", f"inventory not found: {inv_path}")
        inv = str(inv_path)

    public: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for name, value in rendered["extra_vars"].items():
        holds_secret = isinstance(value, str) and ctx.redact(value) != value
        (secret if holds_secret else public)[name] = _literal(value)
    cmdline = ["--check", "--diff"] if check else []
    if remote:
        if check:
            ctx.emit(StepOutput(key, "stdout", REHEARSAL_WARNING))
        inventory_source = inventory if isinstance(inventory, list) else inv
        return await _run_remote(
            ctx, check, playbook, inventory_source, rendered, public, secret, cmdline, start
        )
    tmpfs = _tmpfs()
    if secret and tmpfs is None:
        return finished(
            "failed",
            "no tmpfs to hand the secret extra vars to ansible in memory "
            "(XDG_RUNTIME_DIR or /dev/shm): nothing was run",
        )
    if check:
        ctx.emit(StepOutput(key, "stdout", REHEARSAL_WARNING))

    state, artifacts, ident = _state(ctx)
    events_dir = tempfile.mkdtemp(prefix="annotui-ansible-", dir=tmpfs) if tmpfs else None
    if events_dir is not None:
        (artifacts / ident / "job_events").symlink_to(events_dir)
        if secret:
            cmdline += ["-e", "@" + _private_file(Path(events_dir) / "secret-vars.json", secret)]
    _settings(state, step.timeout)

    loop = asyncio.get_running_loop()
    play = _Play(ctx)
    stop = threading.Event()

    def on_event(data: dict[str, Any]) -> bool:
        loop.call_soon_threadsafe(play.event, data)
        return False  # runner keeps no copy of the event: it may hold a secret's output

    def on_status(data: dict[str, Any], runner_config: Any = None) -> None:
        loop.call_soon_threadsafe(setattr, play, "status", str(data.get("status", "")))

    kwargs: dict[str, Any] = {
        "private_data_dir": str(state),
        "artifact_dir": str(artifacts),
        "ident": ident,
        "rotate_artifacts": ROTATE,
        "playbook": str(playbook),
        "inventory": inv,
        "limit": rendered["limit"],
        "tags": rendered["tags"],
        "extravars": public,
        "envvars": {**ENVVARS, "PATH": _path()},
        "cmdline": shlex.join(cmdline) if cmdline else None,
        "event_handler": on_event,
        "status_handler": on_status,
        "cancel_callback": stop.is_set,
        "suppress_env_files": True,
        "quiet": True,
        "project_dir": str(playbook.parent),
    }
    try:
        try:
            thread, runner = await asyncio.to_thread(_start, kwargs)
        except ImportError:
            return finished(
                "failed", "ansible-runner is not installed: pip install 'annotui[ansible]'"
            )
        try:
            await asyncio.to_thread(thread.join)
        except asyncio.CancelledError:
            pids = _stop(stop)
            await asyncio.to_thread(thread.join, STOP_WAIT)
            await asyncio.sleep(KILL_GRACE)
            _signal_groups(pids, signal.SIGKILL)  # what ignored SIGTERM
            await asyncio.sleep(0)
            play.record(getattr(runner, "rc", None), "canceled", play.unfinished())
            raise
    finally:
        if events_dir is not None:
            shutil.rmtree(events_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                (artifacts / ident / "job_events").unlink()
    await asyncio.sleep(0)
    rc, status = runner.rc, str(runner.status)
    play.record(rc, status)
    return _verdict(ctx, play, rc, status, check, start)


class _WorkerOutput:
    """The remote worker's output: stdout (runner's stream) to the Processor, stderr shown."""

    def __init__(self, inbound: Inbound, out: OutputCollector) -> None:
        self.inbound = inbound
        self.out = out
        self.errors: list[str] = []

    def __call__(self, stream: Stream, line: str) -> None:
        self.text(stream, line)

    def text(self, stream: Stream, text: str) -> None:
        if stream == "stdout":
            self.inbound.feed((text + "\n").encode("utf-8", "surrogateescape"))
        else:
            lines = [line for line in text.split("\n") if line.strip()]
            self.errors = (self.errors + lines)[-5:]
            for line in lines:
                self.out("stderr", line)


def _rotate(artifacts: Path) -> None:
    """Keep the artifacts of the last `ROTATE` runs of the step."""
    runs = sorted((p for p in artifacts.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in runs[:-ROTATE]:
        shutil.rmtree(old, ignore_errors=True)


def _rc(artifact_dir: Path) -> int | None:
    """ansible-playbook's exit status, from the artifacts the worker sent back."""
    with contextlib.suppress(OSError, ValueError):
        return int((artifact_dir / "rc").read_text().strip())
    return None


async def _run_remote(
    ctx: StepContext,
    check: bool,
    playbook: Path,
    inventory: str | list[str],
    rendered: Mapping[str, Any],
    public: dict[str, Any],
    secret: dict[str, Any],
    cmdline: list[str],
    start: float,
) -> StepFinished:
    """The play run by `ansible-runner worker` on the step's host, over its SSH transport (see
    `annotui.engine.ansible_remote`); events and status through runner's Processor here."""
    step = ctx.planned.step
    assert step.kind == "ansible"
    key = ctx.planned.key
    host = step.host
    state, artifacts, ident = _state(ctx)
    settings = _settings(state, step.timeout)
    kwargs: dict[str, Any] = {
        "ident": ident,
        "limit": rendered["limit"],
        "tags": rendered["tags"],
        "extravars": public,
        "envvars": ENVVARS,
        "cmdline": shlex.join(cmdline) if cmdline else None,
        "quiet": True,
    }
    try:
        script = remote_script(
            job_stream(
                playbook=playbook,
                inventory=inventory,
                settings=settings,
                secret_vars=secret,
                kwargs={k: v for k, v in kwargs.items() if v is not None},
            ),
            need_tmpfs=bool(secret),
        )
    except (JobTooLarge, OSError) as e:
        return _finished(ctx, start, "failed", f"{e}: nothing was run")

    loop = asyncio.get_running_loop()
    play = _Play(ctx)
    stop = threading.Event()
    inbound = Inbound()
    worker = _WorkerOutput(inbound, play.out)

    def on_event(data: dict[str, Any]) -> bool:
        loop.call_soon_threadsafe(play.event, data)
        return False  # runner keeps no copy of the event: it may hold a secret's output

    def on_status(data: dict[str, Any], runner_config: Any = None) -> None:
        loop.call_soon_threadsafe(setattr, play, "status", str(data.get("status", "")))

    def spawned(group: Group) -> None:  # recorded: a resume asks whether it still runs
        ctx.emit(StepSpawned(key, host, int(group), group.starttime, group.boot_id))

    try:
        thread, processor = await asyncio.to_thread(
            _start,
            {
                "streamer": "process",
                "_input": inbound,
                "private_data_dir": str(state),
                "artifact_dir": str(artifacts / ident),
                "event_handler": on_event,
                "status_handler": on_status,
                "cancel_callback": stop.is_set,
                "quiet": True,
            },
        )
    except ImportError:
        return _finished(
            ctx, start, "failed", "ansible-runner is not installed: pip install 'annotui[ansible]'"
        )
    _rotate(artifacts)
    transport = ctx.transports.get(host)
    timeout = step.timeout + STOP_WAIT if step.timeout else None
    try:
        result = await transport.run(script, on_line=worker, timeout=timeout, on_spawn=spawned)
    except ConnectionLost as e:
        inbound.end()
        await asyncio.to_thread(thread.join, STOP_WAIT)
        await asyncio.sleep(0)
        play.record(None, "lost", play.unfinished())
        return _finished(ctx, start, "unknown", f"outcome unknown: {e}")
    except BaseException:
        stop.set()
        inbound.end()
        await asyncio.to_thread(thread.join, STOP_WAIT)
        await asyncio.sleep(0)
        play.record(_rc(artifacts / ident), "canceled", play.unfinished())
        raise
    inbound.end()
    await asyncio.to_thread(thread.join, STOP_WAIT)
    await asyncio.sleep(0)
    status = str(processor.status)
    if result.timed_out:
        status = "timeout"
    rc = _rc(artifacts / ident)
    if rc is None and result.exit_code in (NOT_STARTED, NOT_INSTALLED) and not play.started:
        why = worker.errors[-1] if worker.errors else f"exit {result.exit_code}"
        play.record(None, "error")
        return _finished(ctx, start, "failed", f"on {host}: {why.removeprefix('annotui: ')}")
    play.record(rc, status)
    return _verdict(ctx, play, rc, status, check, start)


def _finished(
    ctx: StepContext, start: float, outcome: str, message: str, rc: int | None = None
) -> StepFinished:
    return StepFinished(
        ctx.planned.key,
        outcome,  # type: ignore[arg-type]
        rc,
        time.monotonic() - start,
        message=ctx.redact(message),
    )


def _verdict(
    ctx: StepContext, play: _Play, rc: int | None, status: str, check: bool, start: float
) -> StepFinished:
    """The step's outcome from the recap and runner's final status."""
    recap = play.recap or {}
    failed = [h for h, c in recap.items() if c["failed"]]
    unreachable = [h for h, c in recap.items() if c["unreachable"]]
    if status == "timeout":
        timeout = getattr(ctx.planned.step, "timeout", None) or 0
        return _finished(ctx, start, "timeout", f"timed out after {timeout:g} s", rc)
    if failed or unreachable:
        parts = [f"failed on {', '.join(failed)}"] if failed else []
        parts += [f"unreachable: {', '.join(unreachable)}"] if unreachable else []
        return _finished(ctx, start, "failed", "; ".join(parts), rc)
    if rc != 0 or status != "successful":
        return _finished(ctx, start, "failed", f"ansible-playbook ended {status} (exit {rc})", rc)
    if not recap:
        return _finished(ctx, start, "failed", NO_HOSTS, rc)
    counts = (
        f"{len(recap)} host{'s' * (len(recap) != 1)}, {play.results} results, "
        f"{play.changed} changed"
    )
    if check:
        return _finished(
            ctx, start, "would-run", f"check mode: {counts} (would change); {REHEARSAL_WARNING}"
        )
    return _finished(ctx, start, "ok", counts, rc)


class AnsibleKind:
    name = "ansible"
    starts = True
    records: tuple[type[Event], ...] = (AnsibleTask, AnsibleResult, AnsibleRecap, StepOutput)

    def show(self, step: Any, scope: Mapping[str, str]) -> Shown:
        return Shown(
            host=step.host,
            command=_command(_rendered(step, scope)),
            instructions=step.instructions,
            default_word=step.host,
        )

    async def run(self, ctx: StepContext) -> StepFinished:
        return await run_ansible(ctx, check=False)

    async def rehearse(self, ctx: StepContext) -> StepFinished:
        return await run_ansible(ctx, check=True)


KIND = AnsibleKind()
