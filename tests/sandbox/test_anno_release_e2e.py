"""Acceptance: the bundled anno-release checklist, unchanged, against a fresh sandbox.

`annotui run anno-release --plain` runs as a real subprocess; plain_driver answers its prompts on
stdin like an operator (typed words, evidence). Steps the sandbox cannot do are skipped with a
reason, as an operator would: building the image (needs the anno-targets clone) and the IGV
tracks of sources that this release does not update.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from plain_driver import drive, operator

from annotui import sandbox
from annotui.status.supervisor import SupervisorClient

SKIP = {
    "artifacts/fetch-image": "the image is built elsewhere",
    "artifacts/build-annobuilder": "the image is built elsewhere",
    **{
        f"igv[{env}]/{track}": "not updated"
        for env in ("staging", "prod")
        for track in ("hgmd", "gnomad-exomes", "gnomad-genomes")
    },
}
NEW_SIF = f"anno-targets_{sandbox.NEW}.sif"


def tree_sum(*roots: Path) -> str:
    """sha256 over every path, mode, symlink target and file content under the roots."""
    h = hashlib.sha256()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                p = Path(dirpath) / name
                st = p.lstat()
                h.update(f"{p}|{st.st_mode:o}|".encode())
                if p.is_symlink():
                    h.update(os.readlink(p).encode())
                elif p.is_file():
                    h.update(p.read_bytes())
    return h.hexdigest()


async def _processes(info: sandbox.SandboxInfo) -> dict[str, tuple[str, int]]:
    c = SupervisorClient("anno", info.url, info.username, info.password)
    try:
        return {i.full_name: (i.state, i.pid) for i in await c.get_all_process_info()}
    finally:
        await c.aclose()


def _run(world: sandbox.SandboxInfo, audit: Path, *extra: str):
    argv = ["run", "anno-release", "--plain", "--vars-file", str(world.vars_file),
            "--audit", str(audit), *extra]  # fmt: skip
    return drive(argv, operator(SKIP), cwd=audit.parent)


def _verify(audit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "annotui.cli", "audit", "verify", str(audit)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _records(audit: Path) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


@pytest.mark.timeout(300)
async def test_live_release_against_the_sandbox(world: sandbox.SandboxInfo, tmp_path: Path):
    before = await _processes(world)
    received = world.dir / "notifications.jsonl"
    already = received.read_text().count("\n") if received.exists() else 0
    audit = tmp_path / "live.jsonl"
    t = _run(world, audit)
    assert t.exit_code == 0, t.output[-4000:]
    assert world.password not in t.output

    root = Path(world.vars["root"])
    for env in ("staging", "prod"):
        inst = root / f"anno-{env}"
        assert os.readlink(inst / "anno.sif") == f"../archive/releases/{NEW_SIF}"
        assert stat.S_IMODE((inst / "anno.sif").stat().st_mode) & 0o774 == 0o774
        clinvar = inst / "data/variantDBs/clinvar"
        assert sorted(p.name for p in clinvar.iterdir()) == [
            "clinvar_20261101.vcf.gz",
            "clinvar_20261101.vcf.gz.tbi",
        ]
        assert not (inst / "data/.tmp").exists()
        for p in [inst / "data", *(inst / "data").rglob("*")]:
            assert stat.S_IMODE(p.stat().st_mode) & 0o774 == 0o774, p
    # unpacked through update_data.sh (its own output is in the transcript), from the archive
    assert t.output.count("moved old variantDBs/clinvar aside to data/.tmp") == 3  # 2 TSD + NSC
    assert (root / "archive/data" / sandbox.DATA_TAR).is_file()
    assert not (Path(world.vars["upload_dir"]) / sandbox.DATA_TAR).exists()
    for inst in ("production", "staging"):
        nsc = Path(world.vars["nsc_base"]) / inst / "sw/anno"
        assert os.readlink(nsc / "anno.sif") == f"archive/releases/{NEW_SIF}"
    nsc_prod = Path(world.vars["nsc_base"]) / "production/sw/anno/data/variantDBs/clinvar"
    assert (nsc_prod / "clinvar_20261101.vcf.gz").is_file()
    tracks = Path(world.vars["ella_root"]) / "ella-prod/data/igv-data/tracks"
    assert os.readlink(tracks / "clinvar-current.vcf.gz") == "clinvar_20261101.vcf.gz"

    after = await _processes(world)
    assert {n: s for n, (s, _) in after.items()} == {
        "anno-staging:anno-staging": "RUNNING",
        "anno-prod:anno-prod": "RUNNING",
        "notify-receiver:notify-receiver": "RUNNING",
    }
    assert all(after[n][1] != before[n][1] for n in after if n.startswith("anno-"))  # restarted
    # every stage end reached the sandbox's webhook receiver (json://), with its fields
    posts = [json.loads(line) for line in received.read_text().splitlines()[already:]]
    titles = [p["body"]["title"] for p in posts]
    stage_ends = [r for r in _records(audit) if r["event"] == "stage.end"]
    assert len(titles) == len(stage_ends) and all(" ok" in t for t in titles), titles
    assert all(p["path"] == "/anno-release" for p in posts)
    assert f"release={sandbox.NEW}" in posts[-1]["body"]["message"]
    results = [r for r in _records(audit) if r["event"] == "notify.result"]
    assert results and all(r["status"] == "sent" for r in results)
    log = (world.dir / "supervisor/logs/anno-prod.log").read_text()
    assert log.strip().splitlines()[-1] == f"anno-prod: serving ../archive/releases/{NEW_SIF}"

    assert _verify(audit).returncode == 0
    states = [r for r in _records(audit) if r["event"] == "supervisor.state"]
    stop = [r for r in states if r["step_key"] == "deploy[staging]/stop-anno"]
    assert [(r["when"], r["processes"]) for r in stop] == [
        ("before", {"anno-staging:anno-staging": "RUNNING"}),
        ("after", {"anno-staging:anno-staging": "STOPPED"}),
    ]
    assert world.password not in audit.read_text()


@pytest.mark.timeout(300)
async def test_rehearsal_leaves_the_sandbox_unchanged(world: sandbox.SandboxInfo, tmp_path: Path):
    d = world.dir
    roots = [d / "tsd", d / "nsc", d / "upload", d / "nsc-upload"]
    checksum = tree_sum(*roots)
    before = await _processes(world)
    audit = tmp_path / "rehearsal.jsonl"
    received = world.dir / "notifications.jsonl"
    already = received.read_text() if received.exists() else ""
    t = _run(world, audit, "--rehearse")
    assert t.exit_code == 0, t.output[-4000:]
    assert (received.read_text() if received.exists() else "") == already  # no --notify
    assert tree_sum(*roots) == checksum
    assert await _processes(world) == before  # nothing stopped or restarted
    assert _verify(audit).returncode == 0
    records = _records(audit)
    assert records[0]["mode"] == "rehearsal"
    gates = [r for r in records if r["event"] == "gate.eval"]
    assert gates and all(r["value"] == 0 for r in gates)  # evaluated for real
