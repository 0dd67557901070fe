"""The sandbox's ops/update_data.sh keeps the real script's contract (run for real with bash)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

from annotui import sandbox


def _run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=30)


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_help_and_bad_arguments(tree: Path) -> None:
    script = tree / "tsd/anno/ops/update_data.sh"
    h = _run(script, "-h")
    assert h.returncode == 0 and "-t TAR -r ROOT_FS -e ENVIRONMENT" in h.stdout
    missing = _run(script, "-t", "x.tar")
    assert missing.returncode != 0 and "required" in missing.stderr
    tar = str(tree / "upload" / sandbox.DATA_TAR)
    bad_fs = _run(script, "-t", tar, "-r", "nfs", "-e", "prod")
    assert bad_fs.returncode == 1 and "tsd or boston" in bad_fs.stderr
    bad_env = _run(script, "-t", tar, "-r", "tsd", "-e", "dev")
    assert bad_env.returncode == 1 and "staging or prod" in bad_env.stderr
    no_tar = _run(script, "-t", str(tree / "nope.tar"), "-r", "tsd", "-e", "prod")
    assert no_tar.returncode == 1 and "no such archive" in no_tar.stderr


def test_refuses_an_archive_inside_the_data_directory(tree: Path) -> None:
    data = tree / "tsd/anno/anno-prod/data"
    inside = data / "variantDBs" / sandbox.DATA_TAR
    shutil.copy(tree / "upload" / sandbox.DATA_TAR, inside)
    before = _snapshot(data)
    out = _run(tree / "tsd/anno/ops/update_data.sh", "-t", str(inside), "-r", "tsd", "-e", "prod")
    assert out.returncode == 1
    assert "inside the data directory" in out.stderr
    assert _snapshot(data) == before


def test_moves_the_old_data_aside_and_installs_the_new(tree: Path) -> None:
    root = tree / "tsd/anno"
    data = root / "anno-staging/data"
    archive = root / "archive/data" / sandbox.DATA_TAR
    shutil.move(tree / "upload" / sandbox.DATA_TAR, archive)
    prod_before = _snapshot(root / "anno-prod/data")
    out = subprocess.run(
        ["ops/update_data.sh", "-t", f"archive/data/{sandbox.DATA_TAR}", "-r", "tsd", "-e",
         "staging"],
        cwd=root, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "moved old variantDBs/clinvar aside to data/.tmp" in out.stdout
    clinvar = data / "variantDBs/clinvar"
    assert sorted(p.name for p in clinvar.iterdir()) == [
        "clinvar_20261101.vcf.gz",
        "clinvar_20261101.vcf.gz.tbi",
    ]
    assert (data / "variantDBs/gnomad/gnomad.exomes.vcf.gz").is_file()  # not in the archive
    assert json.loads((data / "sources.json").read_text())["clinvar"]["version"] == "20261101"
    assert "clinvar_20261101" in (data / "vcfanno_config.toml").read_text()
    assert not (data / ".tmp").exists()
    assert not [p for p in data.parent.iterdir() if p.name.startswith(".update_data")]
    for p in [data, *data.rglob("*")]:
        assert stat.S_IMODE(p.stat().st_mode) & 0o774 == 0o774, p
    assert _snapshot(root / "anno-prod/data") == prod_before  # the other instance is untouched


def test_boston_updates_the_nsc_instance(tree: Path) -> None:
    nsc = tree / "nsc"
    tar = tree / "nsc-upload" / sandbox.DATA_TAR
    out = _run(nsc / "production/sw/anno/ops/update_data.sh", "-t", str(tar), "-r", "boston",
               "-e", "prod")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (nsc / "production/sw/anno/data/variantDBs/clinvar/clinvar_20261101.vcf.gz").exists()
    assert (nsc / "staging/sw/anno/data/variantDBs/clinvar/clinvar_20260901.vcf.gz").exists()
