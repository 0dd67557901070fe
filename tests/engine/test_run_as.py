"""`user = ...` (sudo -n), `login = true` and `shell = ...` on local steps, with a real second
user created by the test and the real sudo."""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from engine_cli import read_log

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from unix_users import unix_user

pytestmark = pytest.mark.timeout(120)

USER = "annotui-t-db"  # the user checklists/run-as.toml names
HOSTILE = 'it\'s "q" $(touch PWNED) `touch PWNED2` ;x'


@pytest.fixture
def db_user():
    with unix_user(USER) as name:
        yield name


def _outputs(recs: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in recs:
        if r["event"] == "step.output" and r["stream"] == "stdout":
            out.setdefault(r["step_key"], []).extend(r["text"].split("\n"))
    return out


@pytest.fixture
def work():
    """A directory the second user may write (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="annotui-run-as-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


def test_steps_run_as_a_real_second_user(run_plain, db_user: str, work: Path) -> None:
    # The listing below is of every process on the machine, and other processes (a CI
    # runner's own script, say) may well hold "it's" in their argv: a marker of this run
    # alone, inside the hostile value, is what no argv may hold in any quoted form.
    marker = "annotui-t-" + secrets.token_hex(8)
    hostile = f"{HOSTILE} {marker}"
    r, audit = run_plain("run-as", "--yes", env={"ANNOTUI_T_TOKEN": hostile})
    assert r.returncode == 0, r.stdout + r.stderr
    out = _outputs(read_log(audit))
    assert out["s/whoami"] == [db_user, str(work), f"/home/{db_user}"]
    assert out["s/bash"] == ["FROM-BASH", "5"]
    # the hostile secret reached the other user's shell as one word, and no argv held it
    assert (work / "token.txt").read_text() == hostile + "\n"
    assert (work / "token.txt").stat().st_uid != 0
    argv = (work / "argv.txt").read_text()
    assert "sudo -n -u" in argv  # the listing really saw the run's processes
    assert marker not in argv
    assert not (work / "PWNED").exists() and not (work / "PWNED2").exists()
    # recorded and shown before it ran
    recs = read_log(audit)
    shown = {x["step_key"]: x.get("run_as") for x in recs if x["event"] == "step.shown"}
    assert shown["s/whoami"] == f"as {db_user}"
    assert shown["s/login"] == f"as {db_user} (login)"
    assert shown["s/bash"] == "with bash"
    assert shown["s/as-root-again"] is None
    plan = next(x for x in recs if x["event"] == "run.plan")
    assert plan["stages"][0]["steps"][0]["run_as"] == f"as {db_user}"
    assert f"runs as {db_user}" in r.stdout
    assert marker not in audit.read_text()


def test_sudo_that_cannot_run_fails_naming_host_and_user(run_plain, tmp_path: Path) -> None:
    r, audit = run_plain("run-as-no-user", "--yes", input="q\n", with_work=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert not (tmp_path / "ran").exists()
    fin = [x for x in read_log(audit) if x["event"] == "step.finished"]
    assert fin[0]["outcome"] == "failed"
    assert "sudo -n refused to run as annotui-no-such-user on host db" in fin[0]["message"]
    assert "unknown user" in r.stdout
