"""An `ansible` step whose `host` is a declared SSH host: ansible-runner's streaming, over SSH.

ansible-runner splits a job into three parts (its "transmit / worker / process" streaming, the
way receptor runs jobs on remote nodes): here annotui builds the job stream (the kwargs line, the
private data directory as runner's base64 zip, the eof line), `ansible-runner worker` runs it on
the host, and runner's ``Processor`` (``run_async(streamer="process")``) turns the worker's
output back into the same ``event_handler`` / ``status_handler`` calls a local run makes.

Secrets. The job stream is built in memory (never in a local file) and reaches the host inside
the step's script, which the transport hands over on the channel's stdin (never in an argv); the
script pipes it to the worker with the shell's builtin ``printf``. On the host everything the
worker writes (the unpacked job, the zip it unpacks, ansible's local and remote temp files,
runner's per-event files) lives in one private (0700) directory on tmpfs (``$XDG_RUNTIME_DIR``
or /dev/shm: memory, not disk), removed when the script ends. The secret extra vars are
runner's ``env/extravars`` file in that directory: ansible-playbook's argv holds only its path.

Cancel. The transport stops the script's process group (SIGTERM, then SIGKILL after its grace):
runner's worker, in that group, stops ansible-playbook on its SIGTERM (runner's own signal
handler: on the host there is no annotui to replace), and the script's trap removes the job's
directory. tests/engine/test_ansible_remote.py checks that the hosts' tasks are gone.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shlex
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from annotui.transport.shell import MAX_SCRIPT

INSTALL_HINT = (
    "ansible-runner is not installed on this host (install ansible-runner and ansible-core "
    "there, on the PATH of its SSH sessions or in ~/.local/bin)"
)
NO_TMPFS = (
    "no tmpfs on this host to hold the secret extra vars in memory "
    "(XDG_RUNTIME_DIR or /dev/shm): nothing was run"
)
NOT_STARTED = 125
"""The script's exit status when the job could not be set up on the host (nothing ran)."""
NOT_INSTALLED = 127


class JobTooLarge(ValueError):
    """The job (the playbook's directory and the inventory) does not fit in one step's script."""


def _add_tree(archive: zipfile.ZipFile, source: Path, prefix: str) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.is_symlink():
            archive.write(path, f"{prefix}/{path.relative_to(source).as_posix()}")
        elif path.is_symlink():
            info = zipfile.ZipInfo(f"{prefix}/{path.relative_to(source).as_posix()}")
            info.create_system = 3
            info.external_attr = (0o120777) << 16
            archive.writestr(info, os.readlink(path))


def _add_text(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = 0o100600 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def job_stream(
    *,
    playbook: Path,
    inventory: str | list[str],
    settings: Mapping[str, Any],
    secret_vars: Mapping[str, Any],
    kwargs: Mapping[str, Any],
) -> str:
    """ansible-runner's transmit stream of one job, built in memory: `playbook`'s directory as
    the project, the inventory (a path: its file or directory; a list: one host a line), runner's
    env/settings and the secret extra vars as env/extravars (mode 0600)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add_tree(archive, playbook.parent, "project")
        if isinstance(inventory, list):
            name = "inventory/hosts"
            _add_text(archive, name, "".join(f"{h}\n" for h in inventory))
        else:
            source = Path(inventory)
            if source.is_dir():
                name = "inventory"
                _add_tree(archive, source, "inventory")
            else:
                name = f"inventory/{source.name}"
                archive.write(source, name)
        _add_text(archive, "env/settings", json.dumps(dict(settings)))
        if secret_vars:
            _add_text(archive, "env/extravars", json.dumps(dict(secret_vars)))
    data = buf.getvalue()
    job = {
        **kwargs,
        "playbook": playbook.name,
        "inventory": name,
        "suppress_env_files": True,
    }
    return "".join(
        [
            json.dumps({"kwargs": job}) + "\n",
            json.dumps({"zipfile": len(data)}) + "\n",
            base64.b64encode(data).decode("ascii"),
            json.dumps({"eof": True}) + "\n",
        ]
    )


def remote_script(stream: str, *, need_tmpfs: bool) -> str:
    """The step's script on the host: a private tmpfs directory, the job piped to
    `ansible-runner worker` from the shell's memory, the directory removed at the end."""
    no_tmpfs = (
        f"echo {shlex.quote('annotui: ' + NO_TMPFS)} >&2; exit {NOT_STARTED}"
        if need_tmpfs
        else "__b=${TMPDIR:-/tmp}"
    )
    lines = [
        'PATH="$HOME/.local/bin:$PATH"; export PATH',
        "command -v ansible-runner >/dev/null 2>&1 || "
        f"{{ echo {shlex.quote('annotui: ' + INSTALL_HINT)} >&2; exit {NOT_INSTALLED}; }}",
        "umask 077",
        '__b=; for __c in "${XDG_RUNTIME_DIR:-}" /dev/shm; do '
        'if [ -n "$__c" ] && [ -d "$__c" ] && [ -w "$__c" ]; then __b=$__c; break; fi; done',
        f'if [ -z "$__b" ]; then {no_tmpfs}; fi',
        f'__d=$(mktemp -d "$__b/annotui-ansible-XXXXXX") || exit {NOT_STARTED}',
        'mkdir "$__d/job" "$__d/tmp" || { rm -rf "$__d"; exit 125; }',
        "trap 'rm -rf \"$__d\"' EXIT",
        "trap 'rm -rf \"$__d\"; exit 143' TERM HUP INT",
        f"__j={shlex.quote(stream)}",
        'printf \'%s\' "$__j" | TMPDIR="$__d/tmp" ANSIBLE_LOCAL_TEMP="$__d/tmp" '
        'ANSIBLE_REMOTE_TEMP="$__d/tmp" ansible-runner worker --private-data-dir "$__d/job" &',
        "__w=$!; unset -v __j",
        'wait "$__w"; __rc=$?',
        'exit "$__rc"',
    ]
    text = "\n".join(lines) + "\n"
    if len(text.encode()) > MAX_SCRIPT - 4096:
        raise JobTooLarge(
            f"the job is too large to send: {len(text.encode())} bytes with the playbook's "
            f"directory and the inventory (at most {MAX_SCRIPT - 4096})"
        )
    return text


class Inbound(io.RawIOBase):
    """The worker's output as a file for runner's Processor (its thread reads, the event loop
    feeds): `readline` and `read` block until data or the end."""

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._ended = False
        self._cond = threading.Condition()
        self.name = "<annotui-ansible-worker>"

    def readable(self) -> bool:
        return True

    def feed(self, data: bytes) -> None:
        with self._cond:
            self._buf += data
            self._cond.notify_all()

    def end(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def readline(self, size: int | None = -1) -> bytes:
        with self._cond:
            while b"\n" not in self._buf and not self._ended:
                self._cond.wait()
            cut = self._buf.find(b"\n") + 1 or len(self._buf)
            line = bytes(self._buf[:cut])
            del self._buf[:cut]
            return line

    def read(self, size: int = -1) -> bytes:
        with self._cond:
            while (size < 0 or len(self._buf) < size) and not self._ended:
                self._cond.wait()
            n = len(self._buf) if size < 0 else min(size, len(self._buf))
            out = bytes(self._buf[:n])
            del self._buf[:n]
            return out
