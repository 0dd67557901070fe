"""The local rehearsal world: an anno-like tree, its ops tools and a real supervisord on loopback.

`build(dir)` creates (or completes) the world and starts its supervisord; `stop(dir)` stops it.
The layout and the var names follow docs/anno-targets.md, so `checklists/anno-release.toml` runs
against the sandbox unchanged with `--vars-file DIR/sandbox-vars.toml`.

Building again is harmless: files that exist are kept (a deployed release stays deployed), the
tools are refreshed, the port and password are kept, and supervisord is started only if it is not
already running. To start from scratch: `annotui sandbox DIR --stop`, then remove DIR.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import secrets
import shlex
import shutil
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import tomlkit

from annotui.sandbox_files.supervisord import (
    alive,
    child_pids,
    free_port,
    is_supervisord,
    port_free,
    read_pid,
    terminate,
    wait_ready,
    write_config,
)

DEFAULT_DIR = "annotui-sandbox"
CURRENT = "v2.4.0"
NEW = "v2.5.0"
ELLA_ANNO = {"v2.4.0": "v3.4.2", "v2.5.0": "v3.5.1"}
"""ella-anno version inside each fake anno-targets image."""
CLINVAR_OLD, CLINVAR_NEW = "20260901", "20261101"
DATA_TAR = f"anno-targets-data_{NEW}.tar"
ENVIRONMENTS = ("staging", "prod")
NSC_INSTANCES = ("production", "staging")
USER = "admin"
FIXED_MTIME = 1_790_000_000
"""mtime of everything inside the data archive, so the archive is the same on every build."""


class SandboxError(Exception):
    """The sandbox cannot be built or stopped; the message says why."""


@dataclass(frozen=True, slots=True)
class SandboxInfo:
    dir: Path
    url: str
    username: str
    password: str
    pid: int
    vars_file: Path
    vars: dict[str, str]
    started: bool
    """False when supervisord was already running (a rebuild)."""

    @property
    def jobs_file(self) -> Path:
        return self.dir / "state" / "active_jobs"


def _sif(release: str) -> str:
    return (
        f"annotui sandbox fake singularity image: anno-targets {release}\n"
        f"/anno/version: {ELLA_ANNO[release]}\n"
        f"/anno-targets/version: {release}\n"
    )


def _vcf_gz(date: str) -> bytes:
    text = (
        "##fileformat=VCFv4.2\n"
        f"##fileDate={date}\n##source=ClinVar (annotui sandbox sample)\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "1\t69134\t.\tA\tG\t.\t.\tCLNSIG=Likely_benign\n"
    )
    return gzip.compress(text.encode(), mtime=FIXED_MTIME)


def _data_files(clinvar: str) -> dict[str, bytes]:
    """Relative path -> content of an anno data directory (the archive has the same layout)."""
    sources = {
        "clinvar": {"version": clinvar, "path": f"variantDBs/clinvar/clinvar_{clinvar}.vcf.gz"},
        "gnomad": {"version": "4.1", "path": "variantDBs/gnomad/gnomad.exomes.vcf.gz"},
    }
    vcfanno = (
        "[[annotation]]\n"
        f'file = "variantDBs/clinvar/clinvar_{clinvar}.vcf.gz"\n'
        'fields = ["CLNSIG"]\nops = ["self"]\n'
    )
    return {
        "sources.json": (json.dumps(sources, indent=2) + "\n").encode(),
        "vcfanno_config.toml": vcfanno.encode(),
        f"variantDBs/clinvar/clinvar_{clinvar}.vcf.gz": _vcf_gz(clinvar),
        f"variantDBs/clinvar/clinvar_{clinvar}.vcf.gz.tbi": b"TBI\x01 annotui sandbox index\n",
    }


def _write(path: Path, content: bytes | str, mode: int = 0o775) -> None:
    """Create a file once (existing files are kept: the world may have been deployed to)."""
    if path.exists() or path.is_symlink():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    path.chmod(mode)


def _link(path: Path, target: str) -> None:
    if path.exists() or path.is_symlink():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _tool(path: Path, name: str, **subst: str) -> None:
    """(Re)write a tool script from annotui/sandbox_files (tools are code, always current)."""
    text = resources.files("annotui.sandbox_files").joinpath(name).read_text()
    for key, value in subst.items():
        text = text.replace(f"@{key}@", value)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o775)


def _data_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        dirs = {"variantDBs", "variantDBs/clinvar"}
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
            tar.addfile(info)
        for rel, content in sorted(_data_files(CLINVAR_NEW).items()):
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = len(content), 0o644, FIXED_MTIME
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _instance(anno: Path, data: Path, link: str) -> None:
    """An anno instance: anno.sif -> the current release, and its data directory."""
    _link(anno / "anno.sif", link)
    for rel, content in _data_files(CLINVAR_OLD).items():
        _write(data / rel, content)
    _write(data / "variantDBs/gnomad/gnomad.exomes.vcf.gz", _vcf_gz("4.1"))
    for d in (data, *(p for p in data.rglob("*") if p.is_dir() and not p.is_symlink())):
        d.chmod(0o775)


def build_tree(d: Path) -> None:
    """Everything but supervisord (files that exist are kept, tools are refreshed)."""
    state = d / "state" / "active_jobs"
    _write(state, "0\n", 0o664)
    root = d / "tsd" / "anno"
    for sub in ("archive/data", "archive/releases", "ops"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    _write(root / f"archive/releases/anno-targets_{CURRENT}.sif", _sif(CURRENT))
    _tool(root / "ops/num_active_jobs.sh", "num_active_jobs.sh", STATE_FILE=str(state))
    _tool(root / "ops/update_data.sh", "update_data.sh")
    for env in ENVIRONMENTS:
        _instance(
            root / f"anno-{env}",
            root / f"anno-{env}/data",
            f"../archive/releases/anno-targets_{CURRENT}.sif",
        )
        tracks = d / "tsd" / "ella" / f"ella-{env}" / "data/igv-data/tracks"
        for suffix in (".vcf.gz", ".vcf.gz.tbi"):
            content = _vcf_gz(CLINVAR_OLD) if suffix == ".vcf.gz" else b"TBI\x01\n"
            _write(tracks / f"clinvar_{CLINVAR_OLD}{suffix}", content)
            _link(tracks / f"clinvar-current{suffix}", f"clinvar_{CLINVAR_OLD}{suffix}")
    for inst in NSC_INSTANCES:
        nsc = d / "nsc" / inst / "sw" / "anno"
        (nsc / "archive/releases").mkdir(parents=True, exist_ok=True)
        _write(nsc / f"archive/releases/anno-targets_{CURRENT}.sif", _sif(CURRENT))
        _tool(nsc / "ops/update_data.sh", "update_data.sh")
        _instance(nsc, nsc / "data", f"archive/releases/anno-targets_{CURRENT}.sif")
    tar = _data_tar()
    for upload in (d / "upload", d / "nsc-upload"):
        _write(upload / f"anno-targets_{NEW}.sif", _sif(NEW))
        _write(upload / DATA_TAR, tar, 0o664)
        upload.chmod(0o775)
    _tool(d / "bin" / "singularity", "singularity")
    _tool(d / "bin" / "supervisord", "supervisord", PYTHON=sys.executable)
    _anno_targets_clone(d)


def _git(*args: str | Path, cwd: Path) -> None:
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=annotui sandbox",
            "-c",
            "user.email=sandbox@localhost",
            "-c",
            "init.defaultBranch=master",
            *map(str, args),
        ],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _anno_targets_clone(d: Path) -> None:
    """An anno-targets clone (with a local 'origin') whose Makefile fakes the artifact targets,
    so the runbook's `git pull && make fetch-singularity-release` works in the sandbox. Without
    git the steps fail in the sandbox and can be skipped with a reason."""
    clone = d / "anno-targets"
    if clone.exists() or shutil.which("git") is None:
        return
    origin = d / "gitlab" / "anno-targets.git"
    origin.mkdir(parents=True)
    _git("init", "-q", "--bare", origin, cwd=d)
    clone.mkdir()
    _git("init", "-q", cwd=clone)
    makefile = resources.files("annotui.sandbox_files").joinpath("anno-targets.mk")
    (clone / "Makefile").write_text(makefile.read_text())
    (clone / ".gitignore").write_text("build/\n")
    _git("add", "Makefile", ".gitignore", cwd=clone)
    _git("commit", "-q", "-m", "anno-targets (sandbox)", cwd=clone)
    _git("remote", "add", "origin", origin, cwd=clone)
    _git("push", "-q", "-u", "origin", "master", cwd=clone)


def _programs(d: Path, hook_port: int) -> dict[str, str]:
    """One long-running program per environment that prints the release it serves, and the
    webhook receiver the checklist's notifications go to (``notifications.jsonl``)."""
    receiver = [sys.executable, "-m", "annotui.sandbox_files.webhook", str(hook_port)]
    out = {"notify-receiver": shlex.join([*receiver, str(d / "notifications.jsonl")])}
    for env in ENVIRONMENTS:
        sif = d / "tsd" / "anno" / f"anno-{env}" / "anno.sif"
        script = (
            f'echo "anno-{env}: serving $(readlink {shlex.quote(str(sif))})"; exec sleep 2147483647'
        )
        out[f"anno-{env}"] = f"/bin/sh -c {shlex.quote(script)}"
    return out


def _vars(d: Path, port: int, password: str, hook_port: int) -> dict[str, str]:
    return {
        "notify_url": f"json://127.0.0.1:{hook_port}/anno-release",
        "release": NEW,
        "ella_anno_release": ELLA_ANNO[NEW],
        "data_tar": DATA_TAR,
        "tsd_host": "local",
        "nsc_host": "local",
        "root": str(d / "tsd" / "anno"),
        "upload_dir": str(d / "upload"),
        "nsc_base": str(d / "nsc"),
        "nsc_upload_dir": str(d / "nsc-upload"),
        "ella_root": str(d / "tsd" / "ella"),
        "supervisor_url": f"http://127.0.0.1:{port}",
        "supervisor_user": USER,
        "supervisor_password": password,
        "singularity": str(d / "bin" / "singularity"),
        "anno_targets_dir": str(d / "anno-targets"),
    }


def _previous(vars_file: Path) -> tuple[int, str, int] | None:
    """Port, password and webhook port of an earlier build, if any."""
    try:
        old = tomllib.loads(vars_file.read_text())
        port = int(old["supervisor_url"].rsplit(":", 1)[1])
        password = str(old["supervisor_password"])
    except (OSError, KeyError, ValueError, IndexError, tomllib.TOMLDecodeError):
        return None
    try:  # a sandbox built before the receiver has no notify_url
        hook = int(old["notify_url"].split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    except (KeyError, ValueError, IndexError, AttributeError):
        hook = 0
    return port, password, hook


def _running_pid(d: Path) -> int | None:
    """PID of this sandbox's supervisord when it is running (checked, not just the pidfile)."""
    sv = d / "supervisor"
    pid = read_pid(sv / "supervisord.pid")
    if pid and alive(pid) and is_supervisord(pid, sv / "supervisord.conf"):
        return pid
    return None


def build(dir: Path) -> SandboxInfo:
    """Create or complete the sandbox in `dir` and make sure its supervisord runs."""
    d = dir.resolve()
    if d.exists() and not d.is_dir():
        raise SandboxError(f"{d} exists and is not a directory")
    d.mkdir(parents=True, exist_ok=True)
    build_tree(d)
    vars_file = d / "sandbox-vars.toml"
    conf = d / "supervisor" / "supervisord.conf"
    port, password, hook_port = _previous(vars_file) or (0, secrets.token_urlsafe(18), 0)
    pid = _running_pid(d)
    started = pid is None
    if pid is None:
        if not port or not port_free(port):
            port = free_port()
        if not hook_port or not port_free(hook_port) or hook_port == port:
            hook_port = free_port()
        conf.parent.mkdir(parents=True, exist_ok=True)
        write_config(
            conf,
            port=port,
            username=USER,
            password=password,
            programs=_programs(d, hook_port),
            nodaemon=False,
        )
        _start(d, conf, port, password)
        pid = _running_pid(d)
        if pid is None:
            raise SandboxError(f"supervisord did not record its pid; see {conf.parent}")
    values = _vars(d, port, password, hook_port)
    vars_file.touch(mode=0o600)
    vars_file.chmod(0o600)
    vars_file.write_text(
        "# annotui sandbox: var values for checklists/anno-release.toml (--vars-file)\n"
        + tomlkit.dumps(values)
    )
    return SandboxInfo(d, values["supervisor_url"], USER, password, pid, vars_file, values, started)


def _start(d: Path, conf: Path, port: int, password: str) -> None:
    """Start supervisord daemonized (it writes its pidfile) and wait until it answers."""
    proc = subprocess.run(
        [str(d / "bin" / "supervisord"), "-c", str(conf)],
        cwd=d,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise SandboxError(
            f"supervisord did not start (exit {proc.returncode}): {detail[-1] if detail else ''}"
        )
    try:
        wait_ready(port, USER, password, programs=True)
    except TimeoutError as e:
        raise SandboxError(f"{e}; see {conf.parent / 'supervisord.log'}") from e


def stop(dir: Path) -> bool:
    """Stop the sandbox's supervisord and its programs; False when it was not running."""
    d = dir.resolve()
    sv = d / "supervisor"
    pid = read_pid(sv / "supervisord.pid")
    if pid is None or not alive(pid):
        return False
    if not is_supervisord(pid, sv / "supervisord.conf"):
        raise SandboxError(
            f"pid {pid} in {sv / 'supervisord.pid'} is not this sandbox's supervisord: "
            "not touching it"
        )
    previous = _previous(d / "sandbox-vars.toml")
    children = child_pids(previous[0], USER, previous[1]) if previous else []
    if not terminate(pid):
        raise SandboxError(f"supervisord (pid {pid}) did not exit")
    for child in children:  # supervisord stops its programs before it exits: only check
        if alive(child) and not terminate(child, timeout=5):
            raise SandboxError(f"program pid {child} of the sandbox is still running")
    return True


def _usage(info: SandboxInfo) -> str:
    d = info.dir
    vf = shlex.quote(str(info.vars_file))
    jobs = shlex.quote(str(info.jobs_file))
    how = "started" if info.started else "already running"
    return f"""annotui sandbox ready in {d}
  supervisord   {info.url} (user {info.username}, pid {info.pid}, {how})
                password: supervisor_password in {info.vars_file} (mode 600)
  programs      anno-staging, anno-prod, notify-receiver (notifications.jsonl)
  anno root     {info.vars["root"]}
  upload        {info.vars["upload_dir"]}: anno-targets_{NEW}.sif, {DATA_TAR}

Rehearse the release against it (changes nothing):
  annotui run anno-release --vars-file {vf} --rehearse
Run it for real (the cockpit, or line mode):
  annotui run anno-release --vars-file {vf}
  annotui run anno-release --vars-file {vf} --plain
Live status (probes, supervisor processes, hosts):
  annotui status anno-release --vars-file {vf} --watch
Change the number of active jobs (gates wait while it is not 0):
  echo 3 > {jobs}
  echo 0 > {jobs}
Stop it (nothing is left running):
  annotui sandbox {shlex.quote(str(d))} --stop"""


def main(args: argparse.Namespace) -> int:
    d = Path(args.dir or DEFAULT_DIR)
    try:
        if args.stop:
            if stop(d):
                print(f"annotui sandbox: supervisord of {d.resolve()} stopped")
            else:
                print(f"annotui sandbox: nothing running in {d.resolve()}")
            return 0
        info = build(d)
    except SandboxError as e:
        print(f"annotui sandbox: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"annotui sandbox: {e}", file=sys.stderr)
        return 2
    print(_usage(info))
    return 0
