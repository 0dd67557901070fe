"""The bundled checklists: they load, anno-release walks the whole runbook, and its commands and
expectations really work on an anno-like tree on the local filesystem (real `sh`, real files;
only `singularity` and `ops/update_data.sh` are stand-ins, because they cannot run here)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from annotui.checklist.loader import load_checklist
from annotui.checklist.models import (
    Checklist,
    Stage,
    Step,
)
from annotui.checklist.tables import is_mutating
from annotui.engine.expect import evaluate
from annotui.engine.plan import plan, stage_keys
from annotui.engine.planned import PlannedStep

CHECKLISTS = Path(__file__).resolve().parents[1] / "checklists"
BUNDLED = ["anno-release", "anno-review", "multiomix-deploy", "mgnify-deploy"]
CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "anno-targets.md"

# Shell words that change something; a `check` must never use them, a command using them must
# not say changes = false.
MUTATING = re.compile(
    r"(^|[\s;&|(])(mv|ln|cp|chmod|chown|rm|mkdir|tee|make|pg_dump|mongodump|kubectl)\b"
    r"|git (checkout|pull|push|tag)|docker (volume create|compose (up|pull|down)|stack)"
    r"|ops/update_data\.sh -t"
    r"|task (?!test$|--silent ebi-wp-k8s-hl:(get-api-pod-name|kubectl -- (exec|get)))"
    r"|(?<![>&0-9])>(?!&|\s*/dev/null)"
)


def load(name: str) -> Checklist:
    return load_checklist(CHECKLISTS / f"{name}.toml").model


def stage(cl: Checklist, stage_id: str) -> Stage:
    return next(s for s in cl.stages if s.id == stage_id)


def step(cl: Checklist, stage_id: str, step_id: str) -> Step:
    return next(s for s in stage(cl, stage_id).steps if s.id == step_id)


def all_steps(cl: Checklist) -> list[tuple[str, Step]]:
    return [(st.id, s) for st in cl.stages for s in st.steps]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_checklist_loads(name: str) -> None:
    cl = load(name)
    assert cl.checklist.id == name
    assert len(cl.stages) >= 3


def test_bundled_names_resolve() -> None:
    bundled = pytest.importorskip("annotui.checklist.bundled")
    assert set(BUNDLED) <= set(bundled.bundled_checklists())


@pytest.mark.parametrize("name", BUNDLED)
def test_no_step_skips_confirmation(name: str) -> None:
    assert [s.id for _, s in all_steps(load(name)) if s.confirm == "none"] == []


@pytest.mark.parametrize("name", BUNDLED)
def test_mutating_commands_are_marked(name: str) -> None:
    """Every command that changes something keeps changes = true; checks never change."""
    wrong = []
    for stage_id, s in all_steps(load(name)):
        if s.kind == "check" and MUTATING.search(s.run):
            wrong.append(f"{stage_id}/{s.id}: a check that mutates: {s.run!r}")
        if s.kind == "command" and not s.changes and MUTATING.search(s.run):
            wrong.append(f"{stage_id}/{s.id}: changes = false on {s.run!r}")
    assert wrong == []


def test_mutating_pattern_tells_reads_from_writes() -> None:
    """The guard above can fail: it flags writes and lets read-only commands through."""
    for write in (
        "mv a b",
        "ln -sfn x anno.sif",
        "x | gzip > f.gz",
        "docker compose up -d",
        "ops/update_data.sh -t t -r tsd -e prod",
        "task --yes ebi-wp-k8s-hl:build",
    ):
        assert MUTATING.search(write), write
    for read in (
        "readlink anno.sif",
        "stat -L -c %a anno.sif",
        "find data ! -perm -774 | head",
        "python3 -m json.tool data/sources.json > /dev/null",
        "docker compose ps",
        "task --silent ebi-wp-k8s-hl:kubectl -- exec deploy/x -- python manage.py check",
    ):
        assert not MUTATING.search(read), read


def test_anno_release_walks_the_runbook() -> None:
    cl = load("anno-release")
    assert [s.id for s in cl.stages] == [
        "prepare",
        "artifacts",
        "upload",
        "archive",
        "deploy",
        "nsc",
        "nsc-data",
        "igv",
        "test",
        "announce",
    ]
    prepare = {s.id for s in stage(cl, "prepare").steps}
    assert {
        "release-issue",
        "endringskontroll",
        "credentials",
        "data-sources",
        "mrs-merged",
        "dev-to-master",
    } <= prepare
    for sid in ("release-issue", "endringskontroll", "mrs-merged", "dev-to-master"):
        s = step(cl, "prepare", sid)
        assert s.kind == "manual" and s.evidence, sid

    tag = step(cl, "artifacts", "tag")
    assert tag.kind == "manual" and "git tag -a {{ release }}" in tag.instructions
    runs = {s.id: getattr(s, "run", "") + s.instructions for s in stage(cl, "artifacts").steps}
    assert "make fetch-singularity-release" in runs["fetch-image"]
    assert "make build-annobuilder" in runs["build-annobuilder"]
    assert "make download-anno-package" in runs["download-data"]
    assert "make tar-data" in runs["tar-data"] and "{{ data_tar }}" in runs["tar-data"]

    upload = stage(cl, "upload")
    assert [s.kind for s in upload.steps] == ["manual", "check", "check"] * 2
    assert all(
        "{{ upload_dir }}" in s.run for s in upload.steps if s.kind == "check" and s.host == "tsd"
    )

    for sid, dest in (("archive-tar", "archive/data/"), ("archive-sif", "archive/releases/")):
        s = step(cl, "archive", sid)
        assert s.kind == "command" and s.changes and s.host == "tsd", sid
        assert s.run.startswith("mv ") and s.run.endswith(dest) and s.cwd == "{{ root }}"


def test_anno_release_deploy_stage() -> None:
    cl = load("anno-release")
    deploy = stage(cl, "deploy")
    assert deploy.for_each == {"environment": ["staging", "prod"]}
    ids = [s.id for s in deploy.steps]
    order = [
        "no-jobs",
        "no-pipeline-samples",
        "stop-anno",
        "swap-image",
        "image-link",
        "image-perms",
        "image-version",
        "update-data",
        "data-perms",
        "sources-json",
        "vcfanno-config",
        "data-matches-notes",
        "start-anno",
        "staging-reanalysis",
    ]
    assert [i for i in ids if i in order] == order

    gate = step(cl, "deploy", "no-jobs")
    assert gate.kind == "gate" and gate.probe == "active_jobs"
    assert gate.until.replace(" ", "") == "==0" and gate.hold == 2 and gate.timeout
    assert cl.probes["active_jobs"].run == "{{ root }}/ops/num_active_jobs.sh"
    assert cl.probes["active_jobs"].host == "tsd"

    manual = step(cl, "deploy", "no-pipeline-samples")
    assert manual.kind == "manual" and manual.evidence
    assert "production responsible" in manual.instructions

    for sid, action in (("stop-anno", "stop"), ("start-anno", "start")):
        s = step(cl, "deploy", sid)
        assert s.kind == "supervisor" and s.action == action and s.supervisor == "anno"
        assert s.process == "anno-{{ environment }}:*" and s.critical
    assert step(cl, "deploy", "stop-anno").confirm == "typed"

    swap = step(cl, "deploy", "swap-image")
    assert swap.kind == "command" and swap.changes and swap.host == "tsd"
    assert swap.run == "ln -sfn ../archive/releases/anno-targets_{{ release }}.sif anno.sif"
    assert swap.cwd == "{{ root }}/anno-{{ environment }}"

    link = step(cl, "deploy", "image-link")
    assert link.kind == "check" and link.run.startswith("readlink")
    assert link.expect.symlink_to == "../archive/releases/anno-targets_{{ release }}.sif"
    perms = step(cl, "deploy", "image-perms")
    assert perms.kind == "check" and perms.expect.mode_at_least == "774"
    version = step(cl, "deploy", "image-version")
    assert version.kind == "check"
    assert "{{ singularity }} exec anno.sif cat /anno/version /anno-targets/version" in version.run
    assert version.expect.stdout_matches == "{{ release }}"

    update = step(cl, "deploy", "update-data")
    assert update.kind == "command" and update.changes and update.critical
    assert update.confirm == "typed" and update.cwd == "{{ root }}"
    assert update.run == (
        "ops/update_data.sh -t {{ root }}/archive/data/{{ data_tar }} -r tsd -e {{ environment }}"
    )
    data = step(cl, "deploy", "data-perms")
    assert data.kind == "check" and data.expect.equals == ""
    assert "data/sources.json" in step(cl, "deploy", "sources-json").run  # type: ignore[union-attr]
    assert "data/vcfanno_config.toml" in step(cl, "deploy", "vcfanno-config").run  # type: ignore[union-attr]
    assert step(cl, "deploy", "data-matches-notes").evidence  # type: ignore[union-attr]
    assert step(cl, "deploy", "staging-reanalysis").evidence  # type: ignore[union-attr]


def test_anno_release_nsc_igv_test_announce() -> None:
    cl = load("anno-release")
    nsc = stage(cl, "nsc")
    assert nsc.for_each == {"nsc_instance": ["staging", "production"]}
    for s in nsc.steps:
        if s.kind in ("command", "check"):
            assert s.host == "nsc" and s.cwd == "{{ nsc_base }}/{{ nsc_instance }}/sw/anno"
    assert "ln -sfn" in step(cl, "nsc", "swap-image").run  # type: ignore[union-attr]
    assert step(cl, "nsc", "image-perms").expect.mode_at_least == "774"  # type: ignore[union-attr]
    update = step(cl, "nsc-data", "update-data")
    assert update.kind == "command" and update.host == "nsc" and update.critical
    assert update.run.endswith("-r boston -e prod") and update.cwd.endswith("/production/sw/anno")

    igv = stage(cl, "igv")
    tracks = {
        "clinvar": "clinvar-current",
        "hgmd": "hgmd-current",
        "gnomad-exomes": "gnomad.exomes-current",
        "gnomad-genomes": "gnomad.genomes-current",
    }
    for sid, link in tracks.items():
        s = step(cl, "igv", sid)
        assert s.kind == "command" and s.changes and not s.critical, sid
        assert f'ln -sfn "$(basename "$new")" {link}.vcf.gz' in s.run
        assert s.cwd == "{{ ella_root }}/ella-{{ environment }}/data/igv-data/tracks"
    assert step(cl, "igv", "track-config").kind == "manual"
    assert not any(s.critical for s in igv.steps)

    test = step(cl, "test", "minimal-test")
    assert test.kind == "manual" and test.critical and "ELLA staging" in test.instructions
    announce = step(cl, "announce", "announcement")
    assert announce.kind == "announce"
    for needle in (
        "Anno/anno-targets ble oppdatert",
        "ella-anno: {{ ella_anno_release }}",
        "anno-targets: {{ release }}",
        "Singularity image:",
        "Reference data:",
    ):
        assert needle in announce.text  # type: ignore[union-attr]


def test_anno_release_order_staging_before_prod() -> None:
    keys = [key for _, key, _ in stage_keys(load("anno-release"))]
    assert keys.index("archive") < keys.index("deploy[staging]") < keys.index("deploy[prod]")
    assert keys.index("deploy[prod]") < keys.index("nsc[staging]") < keys.index("nsc[production]")
    assert keys[-2:] == ["test", "announce"]


def test_anno_release_targets_and_lock() -> None:
    cl = load("anno-release")
    assert cl.hosts["tsd"].ssh == "{{ tsd_host }}" and cl.hosts["nsc"].ssh == "{{ nsc_host }}"
    sup = cl.supervisors["anno"]
    assert (sup.url, sup.username, sup.password) == (
        "{{ supervisor_url }}",
        "{{ supervisor_user }}",
        "{{ supervisor_password }}",
    )
    assert cl.checklist.lock is not None and cl.checklist.lock.host == "tsd"
    assert cl.checklist.lock.path == "{{ root }}/.annotui.lock"


def contract_defaults() -> dict[str, str | None]:
    """var -> production default from the table in docs/anno-targets.md (None: operator input)."""
    rows = re.findall(r"^\| `(\w+)` \| .* \| (.*) \|$", CONTRACT.read_text(), re.M)
    out: dict[str, str | None] = {}
    for name, default in rows:
        m = re.fullmatch(r"`([^`]*)`", default.strip())
        out[name] = m.group(1) if m else None
    return out


def test_anno_release_vars_follow_the_contract() -> None:
    cl = load("anno-release")
    table = contract_defaults()
    assert len(table) >= 14
    for name, default in table.items():
        assert name in cl.vars, name
        if name == "ella_anno_release":
            assert cl.vars[name].default == "none"
        elif default is not None:
            assert cl.vars[name].default == default, name
    for name in ("release", "data_tar"):
        var = cl.vars[name]
        assert var.pattern and var.example and var.default is None
        assert re.fullmatch(var.pattern, var.example)
    assert not re.fullmatch(cl.vars["release"].pattern or "", "v2.4")
    assert not re.fullmatch(cl.vars["data_tar"].pattern or "", "../x.tar")
    pw = cl.vars["supervisor_password"]
    assert pw.secret and pw.from_env == "ANNO_SUPERVISOR_PASSWORD" and pw.default is None


def test_anno_review_is_read_only() -> None:
    cl = load("anno-review")
    assert {s.kind for _, s in all_steps(cl)} <= {"check", "manual"}
    assert not any(is_mutating(s) for _, s in all_steps(cl))
    tsd = stage(cl, "tsd")
    assert tsd.for_each == {"environment": ["staging", "prod"]}
    assert step(cl, "tsd", "image-perms").expect.mode_at_least == "774"  # type: ignore[union-attr]
    assert step(cl, "nsc", "image-link").expect.symlink_to  # type: ignore[union-attr]
    assert step(cl, "tsd", "restarted").evidence  # type: ignore[union-attr]
    assert step(cl, "test", "minimal-test").evidence  # type: ignore[union-attr]
    release = load("anno-release")
    for name, var in cl.vars.items():  # the same contract as anno-release
        for field in ("pattern", "choices", "default", "secret", "from_env"):
            assert getattr(release.vars[name], field) == getattr(var, field), (name, field)


def test_multiomix_and_mgnify_back_up_before_they_change() -> None:
    multiomix = load("multiomix-deploy")
    keys = [s.id for s in multiomix.stages]
    assert keys.index("backup") < keys.index("configure") < keys.index("deploy")
    backup = " ".join(s.run for s in stage(multiomix, "backup").steps if s.kind == "command")
    assert "pg_dump" in backup and "mongodump" in backup and "export_media.sh" in backup
    assert step(multiomix, "deploy", "up").run == "docker compose up -d"  # type: ignore[union-attr]
    assert "check --deploy" in step(multiomix, "verify", "check-deploy").run  # type: ignore[union-attr]
    assert "createsuperuser" in step(multiomix, "deploy", "superuser").instructions
    assert "zcat" in step(multiomix, "verify", "restore-plan").instructions

    mgnify = load("mgnify-deploy")
    keys = [s.id for s in mgnify.stages]
    assert keys.index("backup") < keys.index("deploy")
    deploy_runs = [s.run for s in stage(mgnify, "deploy").steps if s.kind == "command"]
    assert any("ebi-wp-k8s-hl:build" in r for r in deploy_runs)
    assert any("ebi-wp-k8s-hl:migrate" in r for r in deploy_runs)
    assert any("ebi-wp-k8s-hl:deploy-flow" in r for r in deploy_runs)
    assert "check --deploy" in step(mgnify, "verify", "check-deploy").run  # type: ignore[union-attr]


def test_mgnify_deploys_each_flow_as_its_own_step() -> None:
    """`flows` is a list var (issue 13): one step per flow instead of a shell for-loop over
    `tr , ' '`; `--var flows=a,b` is given as before."""
    from annotui.engine.vars import validate_value

    mgnify = load("mgnify-deploy")
    values = {
        "repo_dir": "/r",
        "backup_dir": "/b",
        "api_url": "https://api",
        "flows": "assembly_study,virify",
    }
    steps = {s.key: s for st in plan(mgnify, values, rehearse=False) for s in st.steps}
    flows = [k for k in steps if k.startswith("deploy/deploy-flow")]
    assert flows == ["deploy/deploy-flow[assembly_study]", "deploy/deploy-flow[virify]"]
    assert steps[flows[1]].command == "FLOW=virify task ebi-wp-k8s-hl:deploy-flow"
    assert steps[flows[1]].title == "Deploy the flow virify"
    flows_var = mgnify.vars["flows"]
    assert validate_value(flows_var, "assembly_study,virify") is None
    assert "must match" in (validate_value(flows_var, "assembly_study,x;rm") or "")


# --- the commands and expectations of anno-release on a real tree --------------------------

RELEASE, OLD = "v2.4.1", "v2.3.0"
TAR = "clinvar_20260105.tar"


def build_tree(base: Path) -> dict[str, str]:
    """An anno-like tree after the upload (docs/anno-targets.md), and the var values for it."""
    root, upload, ella = base / "tsd" / "anno", base / "upload", base / "ella"
    for d in ("archive/data", "archive/releases", "ops"):
        (root / d).mkdir(parents=True)
    upload.mkdir()
    (upload / TAR).write_bytes(b"tar")
    for rel in (RELEASE, OLD):
        (upload if rel == RELEASE else root / "archive/releases").joinpath(
            f"anno-targets_{rel}.sif"
        ).write_text(f"ella-anno v1.9.0\nanno-targets {rel}\n")
    (root / "ops/num_active_jobs.sh").write_text("#!/bin/sh\necho 0\n")
    # Stand-in for update_data.sh: records its arguments, leaves one entry below 774.
    (root / "ops/update_data.sh").write_text(
        '#!/bin/sh\n[ "$1" = -h ] && { echo "usage: update_data.sh -t TAR -r ROOT_FS -e ENV"; '
        'exit 0; }\necho "$@" > "$(dirname "$0")/../update_data.args"\n'
        'new="$(dirname "$0")/../anno-$6/data/new"; touch "$new" && chmod 640 "$new"\n'
    )
    for env in ("staging", "prod"):
        data = root / f"anno-{env}" / "data"
        (data / "variantDBs" / "clinvar").mkdir(parents=True)
        (data / "sources.json").write_text('{"clinvar": {"version": "20260105"}}')
        (data / "vcfanno_config.toml").write_text('[[annotation]]\nfile="clinvar.vcf.gz"\n')
        for f in ("clinvar_20260105.vcf.gz", "clinvar_20260105.vcf.gz.tbi"):
            (data / "variantDBs" / "clinvar" / f).write_bytes(b"vcf")
        (root / f"anno-{env}" / "anno.sif").symlink_to(
            f"../archive/releases/anno-targets_{OLD}.sif"
        )
        (ella / f"ella-{env}" / "data/igv-data/tracks").mkdir(parents=True)
    nsc_upload = base / "nsc-upload"
    nsc_upload.mkdir()
    (nsc_upload / TAR).write_bytes(b"tar")
    (nsc_upload / f"anno-targets_{RELEASE}.sif").write_text(f"anno-targets {RELEASE}\n")
    for instance in ("staging", "production"):
        nsc = base / "nsc" / instance / "sw" / "anno"
        for d in ("archive/releases", "ops", "data"):
            (nsc / d).mkdir(parents=True)
        (nsc / f"archive/releases/anno-targets_{OLD}.sif").write_text(f"anno-targets {OLD}\n")
        (nsc / "anno.sif").symlink_to(f"archive/releases/anno-targets_{OLD}.sif")
        (nsc / "data/sources.json").write_text("{}")
        (nsc / "data/vcfanno_config.toml").write_text("[[annotation]]\n")
        (nsc / "ops/update_data.sh").write_text(
            '#!/bin/sh\necho "$@" > "$(dirname "$0")/../update_data.args"\n'
            'new="$(dirname "$0")/../data/new"; touch "$new" && chmod 640 "$new"\n'
        )
    for p in [root, base / "nsc", *root.rglob("*"), *(base / "nsc").rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o775 if p.is_dir() or p.suffix in (".sh", ".sif") else 0o664 | 0o110)
    os.chmod(upload / f"anno-targets_{RELEASE}.sif", 0o640)  # the archive step fixes it
    singularity = base / "singularity"
    singularity.write_text(
        '#!/bin/sh\n# singularity exec IMAGE cat ...: the fake image is text\ncat "$2"\n'
    )
    singularity.chmod(0o755)
    return {
        "release": RELEASE,
        "ella_anno_release": "none",
        "data_tar": TAR,
        "anno_targets_dir": str(base),
        "tsd_host": "local",
        "nsc_host": "local",
        "root": str(root),
        "upload_dir": str(upload),
        "nsc_base": str(base / "nsc"),
        "nsc_upload_dir": str(nsc_upload),
        "ella_root": str(ella),
        "supervisor_url": "http://127.0.0.1:9",
        "supervisor_user": "admin",
        "supervisor_password": "not-used-here",
        "singularity": str(singularity),
    }


def run(ps: PlannedStep) -> tuple[bool, str]:
    assert ps.command is not None
    proc = subprocess.run(
        ["sh", "-c", ps.command], cwd=ps.cwd, capture_output=True, text=True, timeout=30
    )
    if ps.expect is not None:  # rendered by the plan, as the engine evaluates it
        return evaluate(ps.expect, proc.returncode, proc.stdout)
    return proc.returncode == 0, proc.stdout + proc.stderr


def test_anno_release_commands_work_on_an_anno_tree(tmp_path: Path) -> None:
    values = build_tree(tmp_path)
    stages = {s.key: s for s in plan(load("anno-release"), values, rehearse=False)}
    root = Path(values["root"])

    for key in ("upload", "archive"):
        for ps in stages[key].steps:
            if ps.kind in ("check", "command") and ps.host == "tsd":
                ok, msg = run(ps)
                assert ok, f"{ps.key}: {msg}"
    assert (root / "archive/data" / TAR).is_file()
    assert (root / f"archive/releases/anno-targets_{RELEASE}.sif").stat().st_mode & 0o774 == 0o774

    deploy = {ps.step.id: ps for ps in stages["deploy[staging]"].steps}
    # Before the swap the link check fails: the expectation is real.
    ok, msg = run(deploy["image-link"])
    assert not ok and "expected a symlink" in msg
    for sid in ("swap-image", "image-link", "image-perms", "image-version", "update-data"):
        ok, msg = run(deploy[sid])
        assert ok, f"{sid}: {msg}"
    args = (root / "update_data.args").read_text().split()
    assert args == ["-t", str(root / "archive/data" / TAR), "-r", "tsd", "-e", "staging"]
    ok, msg = run(deploy["data-perms"])
    assert not ok and "data/new" in msg  # update_data left an entry below 774
    for sid in ("data-perms-fix", "data-perms", "sources-json", "vcfanno-config"):
        ok, msg = run(deploy[sid])
        assert ok, f"{sid}: {msg}"
    assert os.readlink(root / "anno-staging/anno.sif").endswith(f"anno-targets_{RELEASE}.sif")
    assert os.readlink(root / "anno-prod/anno.sif").endswith(f"anno-targets_{OLD}.sif")

    igv = {ps.step.id: ps for ps in stages["igv[staging]"].steps}
    ok, msg = run(igv["clinvar"])
    assert ok, msg
    tracks = Path(values["ella_root"]) / "ella-staging/data/igv-data/tracks"
    assert os.readlink(tracks / "clinvar-current.vcf.gz") == "clinvar_20260105.vcf.gz"
    assert (tracks / "clinvar_20260105.vcf.gz.tbi").is_file()
    ok, msg = run(igv["hgmd"])  # no HGMD file: refuses instead of linking to nothing
    assert not ok and "need exactly one hgmd" in msg


def test_anno_release_nsc_commands_work_on_an_nsc_tree(tmp_path: Path) -> None:
    values = build_tree(tmp_path)
    stages = {s.key: s for s in plan(load("anno-release"), values, rehearse=False)}
    for key in ("nsc[staging]", "nsc[production]", "nsc-data"):
        for ps in stages[key].steps:
            if ps.kind not in ("check", "command"):
                continue
            ok, msg = run(ps)
            assert ok, f"{ps.key}: {msg}"
    nsc = tmp_path / "nsc"
    for instance in ("staging", "production"):
        link = os.readlink(nsc / instance / "sw/anno/anno.sif")
        assert link == f"archive/releases/anno-targets_{RELEASE}.sif"
        assert (nsc / instance / "sw/anno" / link).stat().st_mode & 0o774 == 0o774
    args = (nsc / "production/sw/anno/update_data.args").read_text().split()
    assert args == ["-t", values["nsc_upload_dir"] + "/" + TAR, "-r", "boston", "-e", "prod"]
    assert not (nsc / "staging/sw/anno/update_data.args").exists()
    assert (nsc / "production/sw/anno/data/new").stat().st_mode & 0o777 == 0o774  # fixed
