"""checklists/redis-upgrade.toml (the Redis documentation's "upgrading without downtime", seven
steps) rehearsed and run live against two real redis-server instances under a real supervisord
on 127.0.0.1 (tests/runbooks/redis_world.py): the old master's key count and canary (a value with
quotes and `$(...)`) are captured and compared on the replica, waits are retries, the switch
needs typed words, the backup runs as the redis user, and a real failure (a new instance
configured for cluster mode refuses REPLICAOF) is rolled back to the old master alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis_world import CANARY_KEY, CANARY_VALUE, KEYS, redis_world
from runbook_run import outcomes, run_runbook

pytestmark = pytest.mark.timeout(300)

WORDS = {"switch/promote": "promote", "switch/stop-old": "stop"}


def test_rehearsal_changes_nothing_and_goes_to_the_end(tmp_path: Path) -> None:
    with redis_world() as world:
        r, recs = run_runbook(
            "redis-upgrade", world.vars(), tmp_path, WORDS, "--rehearse", "--yes", env=world.env
        )
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr
        assert world.state("redis") == "RUNNING" and world.state("redis-new") == "STOPPED"
        assert world.cli(world.old_port, "ROLE").startswith("master")
        assert not (world.backup / "dump-before-upgrade.rdb").exists()
    done = outcomes(recs)
    assert done["new-instance/start"] == "would-run"
    assert done["replicate/synced"] == "unverified"  # the new instance was never started
    captured = {x["name"]: x.get("value") for x in recs if x["event"] == "step.captured"}
    assert captured["old_keys"] == str(KEYS)


def test_a_live_upgrade_end_to_end(tmp_path: Path) -> None:
    with redis_world() as world:
        r, recs = run_runbook(
            "redis-upgrade", world.vars(), tmp_path, WORDS, "--yes", env=world.env
        )
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr
        assert world.state("redis") == "STOPPED" and world.state("redis-new") == "RUNNING"
        assert world.cli(world.new_port, "ROLE").startswith("master")
        assert world.cli(world.new_port, "GET", CANARY_KEY) == CANARY_VALUE
        assert world.cli(world.new_port, "DBSIZE") == str(KEYS)
        assert "replicaof" not in (world.base / "new" / "redis.conf").read_text().lower()
        backup = world.backup / "dump-before-upgrade.rdb"
        assert backup.stat().st_uid == (world.base / "old").stat().st_uid != 0
    assert not (tmp_path / "PWNED").exists()
    done = outcomes(recs)
    assert all(v in ("ok", "done") for v in done.values()), done
    captured = {x["name"]: x.get("value") for x in recs if x["event"] == "step.captured"}
    assert captured["canary"] == '"' + CANARY_VALUE.replace('"', '\\"') + '"'
    typed = [x["how"] for x in recs if x["event"] == "step.confirmed" and x["step_key"] in WORDS]
    assert typed == ["answers file"] * 2


def test_a_refused_replicaof_rolled_back_to_the_old_master(tmp_path: Path) -> None:
    with redis_world(new_extra="cluster-enabled yes\n") as world:
        # b: roll back at replicaof; detach is refused too in cluster mode: skipped with a reason
        r, recs = run_runbook(
            "redis-upgrade", world.vars(), tmp_path, WORDS,
            stdin="b\ns cluster mode: it never replicated\n", env=world.env,
        )  # fmt: skip
        assert r.returncode == 1, r.stdout[-3000:] + r.stderr
        assert world.state("redis") == "RUNNING" and world.state("redis-new") == "STOPPED"
        assert world.cli(world.old_port, "GET", CANARY_KEY) == CANARY_VALUE
    done = outcomes(recs)
    assert done["replicate/replicaof"] == "failed"
    assert done["replicate/rollback/detach"] == "skipped"
    assert done["replicate/rollback/stop-new"] == "ok"
    assert done["replicate/rollback/old-still-master"] == "ok"
    assert "switch/promote" not in done
    rollback = [(x["phase"], x.get("outcome")) for x in recs if x["event"] == "stage.rollback"]
    assert rollback == [("start", None), ("end", "ok")]
