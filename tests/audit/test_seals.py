"""Seals, signatures, checkpoints and sign-offs against real OpenSSH (ssh-keygen, ssh-agent).

Runs are real `annotui run --plain` processes on a local checklist; keys are made by ssh-keygen
in the test; every signature is checked by `ssh-keygen -Y verify` (directly or through
`annotui audit verify --allowed-signers`)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from annotui import events as ev
from annotui.audit import chain
from annotui.audit.errors import AuditError
from annotui.audit.proof import checkpoint_of
from annotui.audit.seal import seal_text
from annotui.audit.sshsig import AUDIT_NAMESPACE, sign
from annotui.audit.verify import verify
from annotui.audit.writer import AuditWriter

from .conftest import header
from .sshkeys import Agent, Key, agent, allowed_signers, keys, make_key  # noqa: F401

LOCAL = Path(__file__).parents[1] / "engine" / "checklists" / "local.toml"
ANNOTUI = [sys.executable, "-m", "annotui.cli"]


def annotui(
    *args: str | Path, env: dict[str, str] | None = None, input: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ANNOTUI, *map(str, args)],
        input=input,
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=120,
    )


def signed_run(
    tmp_path: Path, sign_with: str | None, env: dict[str, str] | None = None, name: str = "a"
) -> tuple[subprocess.CompletedProcess[str], Path]:
    work = tmp_path / f"work-{name}"
    work.mkdir()
    (work / "jobs").write_text("0\n")
    audit = tmp_path / f"{name}.jsonl"
    base = {**(env or os.environ), "XDG_STATE_HOME": str(tmp_path / "state")}
    args: list[str | Path] = ["run", LOCAL, "--plain", "--yes", "--var", f"work={work}"]
    args += ["--audit", audit]
    if sign_with is not None:
        args += ["--sign-with", sign_with]
    return annotui(*args, env=base, input="https://gitlab.example/issues/1\n"), audit


def ssh_verify(
    signers: Path, principal: str, namespace: str, sig: Path, data: bytes
) -> subprocess.CompletedProcess[bytes]:
    """Plain `ssh-keygen -Y verify`, as docs/audit-proof.md tells a reviewer to run it."""
    argv = ["ssh-keygen", "-Y", "verify", "-f", str(signers), "-I", principal, "-n", namespace]
    return subprocess.run([*argv, "-s", str(sig)], input=data, capture_output=True)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def signers(tmp_path: Path, keys: dict[str, Key]) -> Path:  # noqa: F811
    return allowed_signers(
        tmp_path / "allowed_signers",
        ("operator@example", keys["operator"], 'namespaces="annotui-audit"'),
        ("reviewer@example", keys["reviewer"], 'namespaces="annotui-signoff"'),
    )


@pytest.fixture
def run_log(tmp_path: Path, keys: dict[str, Key]) -> Path:  # noqa: F811
    r, audit = signed_run(tmp_path, str(keys["operator"].private))
    assert r.returncode == 0, r.stdout + r.stderr
    return audit


def test_every_stage_and_the_session_end_with_a_signed_seal(
    run_log: Path,
    keys: dict[str, Key],  # noqa: F811
    signers: Path,
) -> None:
    recs = records(run_log)
    first = recs[0]["hash"]
    seals = [r for r in recs if r["event"] == "seal"]
    stage_ends = [i for i, r in enumerate(recs) if r["event"] == "stage.end"]
    assert len(seals) == len(stage_ends) + 1
    for i in stage_ends:
        assert recs[i + 1]["event"] == "seal"
    assert recs[-1]["event"] == "seal" and recs[-2]["event"] == "session.end"
    for s in seals:
        assert s["signed"] == (
            f"annotui-audit-seal v1\nlog: {first}\nseq: {s['seq']}\nhead: {s['prev']}\n"
        )
        assert s["signature"].startswith("-----BEGIN SSH SIGNATURE-----\n")
        assert s["key"] == keys["operator"].fingerprint()
        sig = run_log.with_name(f"seal-{s['seq']}.sig")
        sig.write_text(s["signature"])
        data = s["signed"].encode()
        plain = ssh_verify(signers, "operator@example", "annotui-audit", sig, data)
        assert plain.returncode == 0, plain.stderr
        assert b'Good "annotui-audit" signature for operator@example' in plain.stdout
        wrong_ns = ssh_verify(signers, "operator@example", "annotui-signoff", sig, data)
        assert wrong_ns.returncode != 0
    v = annotui("audit", "verify", run_log, "--allowed-signers", signers)
    assert v.returncode == 0, v.stdout + v.stderr
    assert v.stdout.startswith("intact and sealed: ")
    assert "seal seq" in v.stdout and "(stage deploy[staging]): signed by operator@example" in (
        v.stdout
    )
    assert f"(session end): signed by operator@example ({keys['operator'].fingerprint()})" in (
        v.stdout
    )


def test_signing_through_a_real_ssh_agent(
    tmp_path: Path,
    agent: Agent,  # noqa: F811
    signers: Path,
) -> None:
    """An encrypted key, its private half in the agent; KEY is the public key, given by
    ANNOTUI_SIGN_WITH."""
    locked = make_key(tmp_path / "locked", "operator", passphrase="correct horse")
    allowed = allowed_signers(
        tmp_path / "agent_signers", ("ops@example", locked, 'namespaces="annotui-audit"')
    )
    agent.add(locked, "correct horse")
    env = {**agent.env, "ANNOTUI_SIGN_WITH": str(locked.public)}
    r, audit = signed_run(tmp_path, None, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    v = annotui("audit", "verify", audit, "--allowed-signers", allowed)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "(session end): signed by ops@example" in v.stdout
    # the operator's own key is not the agent's: refused by the reviewer's file
    assert annotui("audit", "verify", audit, "--allowed-signers", signers).returncode == 1


def test_a_run_that_cannot_sign_stops_before_anything(tmp_path: Path) -> None:
    locked = make_key(tmp_path / "locked", "op", passphrase="secret words")
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    for key in (tmp_path / "no-such-key", locked.private):
        r, audit = signed_run(tmp_path, str(key), env=env, name=key.name)
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stderr.startswith("annotui: --sign-with: cannot sign with "), r.stderr
        assert "nothing was run" in r.stderr and len(r.stderr.splitlines()) == 1
        assert not audit.exists()
        assert not (tmp_path / f"work-{key.name}" / "marker.txt").exists()


def test_a_log_cut_at_any_line_after_its_first_seal_is_never_sealed(run_log: Path) -> None:
    lines = run_log.read_bytes().splitlines(keepends=True)
    first_seal = next(i for i, line in enumerate(lines) if b'"event":"seal"' in line)
    cut = run_log.with_name("cut.jsonl")
    for keep in range(first_seal + 1, len(lines)):
        cut.write_bytes(b"".join(lines[:keep]))
        result = verify(cut)
        assert result.ok and not result.sealed, keep
    cut.write_bytes(b"".join(lines[: first_seal + 1]))
    v = annotui("audit", "verify", cut)
    assert v.returncode == 3, v.stdout + v.stderr
    assert v.stdout.startswith(f"intact but unsealed: ends at seq {first_seal} without its final")
    assert f"last seal at seq {first_seal}" in v.stdout
    cut.write_bytes(b"".join(lines[:-1]))  # the final seal cut off
    assert annotui("audit", "verify", cut).returncode == 3
    cut.write_bytes(b"".join(lines[:-1]) + lines[-1][:-40])  # cut mid-line
    assert annotui("audit", "verify", cut).returncode == 1


def rechain(path: Path, change: Any, key: Key | None) -> Path:
    """Rewrite a log as someone with write access but without the operator's key would: change
    records (``change(rec)``), recompute every hash, re-sign every seal with ``key`` (or keep
    the old signatures when None), and write it to ``path``."""
    out = []
    prev = chain.ZERO_HASH
    first = None
    for rec in records(path):
        rec.pop("hash")
        change(rec)
        rec["prev"] = prev
        if rec["event"] == "seal":
            assert first is not None
            rec["signed"] = seal_text(first, rec["seq"], prev)
            if key is not None:
                sig = sign(str(key.private), rec["signed"], AUDIT_NAMESPACE)
                rec["signature"], rec["key"] = sig.armored, sig.key
        body = chain.canonical(rec)
        prev = hashlib.sha256(body).hexdigest()
        first = first or prev
        out.append(body[:-1] + chain.HASH_KEY + prev.encode() + b'"}\n')
    forged = path.with_name("forged.jsonl")
    forged.write_bytes(b"".join(out))
    return forged


def _hide_output(rec: dict[str, Any]) -> None:
    if rec["event"] == "step.output":
        rec["text"] = "nothing to see here"


def test_a_recomputed_chain_fails_without_the_key(
    run_log: Path,
    keys: dict[str, Key],  # noqa: F811
    signers: Path,
) -> None:
    for key in (keys["mallory"], None):
        forged = rechain(run_log, _hide_output, key)
        assert verify(forged).ok and verify(forged).sealed  # the chain alone cannot tell
        v = annotui("audit", "verify", forged, "--allowed-signers", signers)
        assert v.returncode == 1, v.stdout + v.stderr
        if key is not None:
            assert f"key {key.fingerprint()} is not an allowed signer" in v.stdout
        else:  # the old signatures over the old heads
            assert "does not verify" in v.stdout
    # an operator key not allowed for this namespace is refused as well
    only_signoff = allowed_signers(
        run_log.with_name("signoff_only"),
        ("operator@example", keys["operator"], 'namespaces="annotui-signoff"'),
    )
    assert annotui("audit", "verify", run_log, "--allowed-signers", only_signoff).returncode == 1
    expired = allowed_signers(
        run_log.with_name("expired"),
        ("operator@example", keys["operator"], 'valid-before="20200101Z"'),
    )
    v = annotui("audit", "verify", run_log, "--allowed-signers", expired)
    assert v.returncode == 1 and "expired" in v.stdout, v.stdout


def test_expect_catches_a_rewritten_log(run_log: Path, keys: dict[str, Key]) -> None:  # noqa: F811
    cp = annotui("audit", "checkpoint", run_log)
    assert cp.returncode == 0, cp.stderr
    body, _, signature = cp.stdout.partition("\n\n")
    origin, size, _head_b64, head_line, expect_line = body.splitlines()
    recs = records(run_log)
    assert origin == f"annotui-audit/{recs[0]['hash']}"
    assert int(size) == recs[-1]["seq"]
    assert head_line == f"head {recs[-1]['prev']}"
    expect = expect_line.removeprefix("expect ")
    assert expect == f"{len(recs) - 2}:{recs[-1]['prev']}"
    assert signature.startswith(f"— {keys['operator'].fingerprint()} ")
    assert checkpoint_of(run_log) == cp.stdout
    assert annotui("audit", "verify", run_log, "--expect", expect).returncode == 0
    forged = rechain(run_log, _hide_output, keys["operator"])  # even with the operator's key
    assert annotui("audit", "verify", forged).returncode == 0
    v = annotui("audit", "verify", forged, "--expect", expect)
    assert v.returncode == 1 and f"expected record {expect.split(':')[0]} with hash" in v.stdout
    assert annotui("audit", "verify", run_log, "--expect", "12:nothex").returncode == 2


def test_the_checkpoint_rebuilds_the_signed_text(run_log: Path, signers: Path) -> None:
    """A reviewer with only the checkpoint can check its signature with ssh-keygen."""
    cp = annotui("audit", "checkpoint", run_log).stdout
    body, _, sig_line = cp.partition("\n\n")
    origin, size, *_ = body.splitlines()
    head = body.splitlines()[3].removeprefix("head ")
    text = seal_text(origin.removeprefix("annotui-audit/"), int(size), head)
    blob = sig_line.split()[2]
    armored = "-----BEGIN SSH SIGNATURE-----\n" + blob + "\n-----END SSH SIGNATURE-----\n"
    sig = run_log.with_name("cp.sig")
    sig.write_text(armored)
    done = ssh_verify(signers, "operator@example", "annotui-audit", sig, text.encode())
    assert done.returncode == 0, done.stderr
    cut = run_log.with_name("cut.jsonl")
    cut.write_bytes(b"".join(run_log.read_bytes().splitlines(keepends=True)[:-1]))
    assert annotui("audit", "checkpoint", cut).returncode == 3


def test_sign_off_listed_and_forged_ones_rejected(
    run_log: Path,
    keys: dict[str, Key],  # noqa: F811
    signers: Path,
) -> None:
    r = annotui(
        "audit", "sign-off", run_log, "--sign-with", keys["reviewer"].private, "--note", "LGTM"
    )
    assert r.returncode == 0, r.stderr
    signoffs = run_log.with_name(run_log.name + ".signoffs")
    v = annotui("audit", "verify", run_log, "--allowed-signers", signers)
    assert v.returncode == 0, v.stdout
    assert f"signed off by reviewer@example ({keys['reviewer'].fingerprint()}) at " in v.stdout
    assert v.stdout.rstrip().endswith(": LGTM")
    good = signoffs.read_text()
    entry = json.loads(good)
    # a changed note, a sign-off by a key the file does not allow, one for another head
    forged_note = json.dumps({**entry, "note": "approved everything"})
    forged_text = json.dumps({**entry, "signed": entry["signed"].replace("LGTM", "ok")})
    signoffs.write_text(good + forged_note + "\n" + forged_text + "\n")
    assert (
        annotui("audit", "sign-off", run_log, "--sign-with", keys["mallory"].private).returncode
        == 0
    )
    v = annotui("audit", "verify", run_log, "--allowed-signers", signers)
    assert v.returncode == 1
    rejected = [line for line in v.stdout.splitlines() if "sign-off REJECTED" in line]
    assert [line.split(":")[1] for line in rejected] == ["2", "3", "4"], v.stdout
    assert "not an allowed signer" in rejected[2]
    assert v.stdout.count("signed off by reviewer@example") == 1
    # without the file, the forged signatures are still caught by ssh-keygen itself
    v = annotui("audit", "verify", run_log)
    assert v.returncode == 1 and v.stdout.count("sign-off REJECTED") == 2
    # a note that would add lines to the signed text is refused
    bad = annotui(
        "audit", "sign-off", run_log, "--sign-with", keys["reviewer"].private, "--note", "a\nb"
    )
    assert bad.returncode == 2 and "one line" in bad.stderr


def test_sign_off_refuses_an_unsealed_log(run_log: Path, keys: dict[str, Key]) -> None:  # noqa: F811
    cut = run_log.with_name("cut.jsonl")
    cut.write_bytes(b"".join(run_log.read_bytes().splitlines(keepends=True)[:-1]))
    r = annotui("audit", "sign-off", cut, "--sign-with", keys["reviewer"].private)
    assert r.returncode == 3 and "unsealed" in r.stderr
    assert not cut.with_name("cut.jsonl.signoffs").exists()


# ---- the writer and verify on their own -------------------------------------------------


def _seal(w: AuditWriter, key: Key | None = None) -> None:
    text = w.seal_text()
    if key is None:
        w(ev.Sealed(text))
    else:
        sig = sign(str(key.private), text, AUDIT_NAMESPACE)
        w(ev.Sealed(text, sig.armored, sig.key))


def _session(w: AuditWriter, key: Key | None) -> None:
    w(ev.StageStarted("prepare", "Prepare", 1, 1))
    w(ev.StageFinished("prepare", "ok"))
    _seal(w, key)


def test_a_resumed_log_seals_on(tmp_path: Path, keys: dict[str, Key]) -> None:  # noqa: F811
    path = tmp_path / "resumed.jsonl"
    with AuditWriter.create(path) as w:
        w(header())
        _session(w, keys["operator"])  # then a crash: no session.end, no final seal
    assert verify(path).ok and not verify(path).sealed
    w, _tail = AuditWriter.open_append(path)
    with w:
        w(ev.SessionResumed("alice", None, "jump1", "live"))
        _session(w, keys["operator"])
        w(ev.SessionEnded("done", 0, 1, 1, 0))
        _seal(w, keys["operator"])
    result = verify(path)
    assert result.ok and result.sealed and len(result.seals) == 3
    logs = {s.signed.splitlines()[1] for s in result.seals}
    assert logs == {f"log: {result.first_hash}"}
    assert [s.covers for s in result.seals] == ["stage prepare", "stage prepare", "session end"]


def test_a_seal_names_its_stage_past_the_stage_notifications(tmp_path: Path) -> None:
    """The session seals a stage after its stage_end notifications are recorded: the seal
    still closes that stage (it read as 'records' in the sandbox's anno-release)."""
    path = tmp_path / "notified.jsonl"
    with AuditWriter.create(path) as w:
        w(header())
        w(ev.StageStarted("prepare", "Prepare", 1, 2))
        w(ev.StageFinished("prepare", "ok"))
        w(ev.NotificationSent(1, "stage_end", "json://***", "Prepare done", "ok"))
        w(ev.NotificationResult(1, "stage_end", "json://***", "sent", "", 0.1))
        _seal(w)
        w(ev.StageStarted("deploy", "Deploy", 2, 2))
        w(ev.StepOutput("deploy/x", "stdout", "no stage.end before this seal"))
        _seal(w)
        w(ev.StageFinished("deploy", "ok"))
        _seal(w)
        w(ev.SessionEnded("done", 0, 1, 1, 0))
        _seal(w)
    result = verify(path)
    assert result.ok and result.sealed
    covers = [s.covers for s in result.seals]
    assert covers == ["stage prepare", "records", "stage deploy", "session end"]


def test_the_writer_refuses_a_seal_of_another_place(tmp_path: Path) -> None:
    with AuditWriter.create(tmp_path / "w.jsonl") as w:
        with pytest.raises(AuditError):
            w.seal_text()  # nothing to seal before the first record
        w(header())
        text = w.seal_text()
        w(ev.StageStarted("prepare", "Prepare", 1, 1))
        with pytest.raises(AuditError, match="must sign exactly"):
            w(ev.Sealed(text))


def test_secrets_never_alter_a_seal(tmp_path: Path) -> None:
    """A secret that happens to be hex digits would cut a seal's signed text short of its
    hashes: seals are not redacted (they hold hashes and a fingerprint, never a value)."""
    path = tmp_path / "secret.jsonl"
    with AuditWriter.create(path, secrets=["a", "1"]) as w:
        w(header())
        _session(w, None)
        w(ev.SessionEnded("done", 0, 1, 1, 0))
        _seal(w)
    result = verify(path)
    assert result.ok and result.sealed, result


def test_a_seal_that_does_not_sign_its_place_is_tampering(tmp_path: Path) -> None:
    path = tmp_path / "moved.jsonl"
    with AuditWriter.create(path) as w:
        w(header())
        _session(w, None)
        w(ev.SessionEnded("done", 0, 1, 1, 0))
        _seal(w)
    recs = records(path)
    moved_seq = recs[3]["seq"]

    def move(rec: dict[str, Any]) -> None:
        if rec["seq"] == moved_seq:  # a seal that names another seq
            rec["signed"] = rec["signed"].replace(f"seq: {moved_seq}", f"seq: {moved_seq + 1}")

    out = []
    prev = chain.ZERO_HASH
    for rec in recs:
        rec.pop("hash")
        move(rec)
        rec["prev"] = prev
        body = chain.canonical(rec)
        prev = hashlib.sha256(body).hexdigest()
        out.append(body[:-1] + chain.HASH_KEY + prev.encode() + b'"}\n')
    path.write_bytes(b"".join(out))
    v = annotui("audit", "verify", path)
    assert v.returncode == 1
    assert v.stdout.startswith(f"{path}:{moved_seq + 1}: seal does not sign its place"), v.stdout


def test_a_large_log_judges_its_seals_in_parallel(run_log: Path) -> None:
    alone = verify(run_log)
    for workers in (2, 3, 5):
        both = verify(run_log, parallel_from=0, workers=workers)
        assert both == alone and both.sealed and len(both.seals) == len(alone.seals) > 1
