"""checklists/postgresql-upgrade.toml (the pg_upgrade documentation's 15 steps) rehearsed and run
live against a real PostgreSQL cluster on 127.0.0.1 (tests/runbooks/pg_world.py): every command
runs as the real postgres user through sudo -n, the old cluster's encoding, locale, checksums
and canary are captured and drive initdb and the checks after, conditions skip what this world
does not have (packages, standbys, link mode), and a real failure to start the new server is
rolled back to the old cluster."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pg_world import CANARY, ROWS, pg_world
from runbook_run import outcomes, run_runbook

pytestmark = pytest.mark.timeout(300)

WORDS = {"switch/pg-upgrade": "upgrade", "after/delete-old": "delete"}
EXPECTED_CANARY = f"{len(ROWS)}:{','.join(ROWS)}"


def test_rehearsal_changes_nothing_and_goes_to_the_end(tmp_path: Path) -> None:
    with pg_world() as world:
        r, recs = run_runbook(
            "postgresql-upgrade", world.vars(), tmp_path, WORDS, "--rehearse", "--yes"
        )
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr
        assert world.running(world.old) is not None and not world.new.exists()
        assert world.query(CANARY) == EXPECTED_CANARY
    done = outcomes(recs)
    assert done["switch/pg-upgrade"] == "would-run"
    assert done["compatible/pg-upgrade-check"] == "unverified"  # no new cluster was made
    assert done["new-cluster/install"] == "skipped"
    captured = {x["name"]: x.get("value") for x in recs if x["event"] == "step.captured"}
    assert captured["encoding"] == "UTF8" and captured["checksums"] == "off"


def test_a_live_upgrade_end_to_end(tmp_path: Path) -> None:
    with pg_world() as world:
        r, recs = run_runbook("postgresql-upgrade", world.vars(), tmp_path, WORDS, "--yes")
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr
        assert world.running(world.new) is not None
        assert world.query(CANARY) == EXPECTED_CANARY  # the new server, on the old port
        assert not world.old.exists()  # delete_old_cluster.sh ran
        assert (world.new / "PG_VERSION").stat().st_uid == world.work.stat().st_uid != 0
    assert not (tmp_path / "PWNED").exists() and not (world.work / "PWNED").exists()
    done = outcomes(recs)
    assert {k for k, v in done.items() if v == "skipped"} == {
        "new-cluster/install",
        "new-cluster/initdb-checksums",
        "new-cluster/shared-objects",
        "switch/standbys",
        "switch/pg-upgrade-link",
        "after/update-extensions",
    }
    assert all(v in ("ok", "done", "skipped") for v in done.values()), done
    shown = {x["step_key"]: x.get("run_as") for x in recs if x["event"] == "step.shown"}
    assert shown["switch/pg-upgrade"] == "as postgres" and shown["new-cluster/install"] == "as root"
    typed = [x for x in recs if x["event"] == "step.confirmed" and x["step_key"] in WORDS]
    assert [x["how"] for x in typed] == ["answers file"] * 2


def test_a_failed_start_rolled_back_to_the_old_cluster(tmp_path: Path) -> None:
    with pg_world() as world, socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))  # the new server's port is taken: it really fails
        squatter.listen()
        port = str(squatter.getsockname()[1])
        # b: roll back at start-new; stop-new fails too (nothing runs): skipped with a reason
        r, recs = run_runbook(
            "postgresql-upgrade", world.vars(new_port=port), tmp_path, WORDS,
            stdin="b\ns the new server never started\n",
        )  # fmt: skip
        assert r.returncode == 1, r.stdout[-3000:] + r.stderr
        assert world.running(world.new) is None and world.running(world.old) is not None
        assert world.query(CANARY) == EXPECTED_CANARY
    done = outcomes(recs)
    assert done["switch/start-new"] == "failed"
    assert done["switch/rollback/link-started"] == "skipped"  # by its condition: copy mode
    assert done["switch/rollback/stop-new"] == "skipped"
    assert done["switch/rollback/start-old"] == "ok" and done["switch/rollback/old-back"] == "ok"
    assert "after/analyze" not in done
    rollback = [(x["phase"], x.get("step_key")) for x in recs if x["event"] == "stage.rollback"]
    assert rollback == [("start", "switch/start-new"), ("end", None)]
