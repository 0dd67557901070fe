"""`audit show` and `audit report` read the ansible.* and notify.* records (not as dumps), and
the session_end notification carries the checkpoint of issue 14. Real `annotui run --plain`
processes, real ansible-core, and a real webhook receiver on 127.0.0.1 (test_notify's)."""

from __future__ import annotations

import sys

from engine_cli import CHECKLISTS, read_log
from test_notify import TOKEN, run_notes
from test_notify import receiver as receiver  # a fixture


def inventory(path, hosts):
    lines = ["[all]", *(f"{h} ansible_connection=local" for h in hosts)]
    lines += ["[all:vars]", f"ansible_python_interpreter={sys.executable}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_show_and_report_read_the_ansible_records(run_cli, run_plain, tmp_path):
    inv = inventory(tmp_path / "inv.ini", ["l1", "l2"])
    r, audit = run_plain(
        CHECKLISTS / "ansible.toml", "--yes", "--var", f"inventory={inv}", "--var", "fail_on=l2",
        env={"ANSIBLE_TEST_TOKEN": "tok-show-1"},
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    shown = run_cli("audit", "show", audit)
    assert shown.returncode == 0, shown.stderr
    rows = {line.split()[2]: line for line in shown.stdout.splitlines() if " ansible." in line[:40]}
    assert set(rows) == {"ansible.task", "ansible.result", "ansible.recap"}
    text = shown.stdout
    assert "task started: write the release file (play all)" in text
    assert "l2 | refuse on one host: failed (fail, " in text and "s): l2 refuses" in text
    assert "l1 | refuse on one host: skipped (fail, " in text
    assert "l1 | say the token: ok (debug, " in text and "token is ***" in text
    assert (
        "recap failed, exit 2: 2 hosts, ok 5, changed 3, failed 1, skipped 1; failed on l2" in text
    )
    assert "{'" not in "".join(v for v in rows.values())  # no field dumps
    md = run_cli("audit", "report", audit).stdout
    assert (
        "- **ansible:** 7 host x task results over 4 tasks\\: changed 3, failed 1, ok 2, skipped 1"
        in md
    )
    assert "- **ansible failure:** l2 \\| refuse on one host\\: failed\\: l2 refuses" in md
    assert "Ansible recap of deploy/play per host:" in md
    assert "| l1 | 3 | 2 | 0 | 0 | 1 | 0 | 0 |  |" in md
    assert "| l2 | 2 | 1 | 1 | 0 | 0 | 0 | 0 |  |" in md
    page = run_cli("audit", "report", audit, "--format", "html").stdout
    assert "<th>host</th><th>ok</th><th>changed</th><th>failed</th>" in page
    assert "<tr><td>l2</td><td>2</td><td>1</td><td>1</td>" in page


def test_notifications_read_in_show_and_report_and_the_end_carries_the_checkpoint(
    run_cli,
    run_plain,
    receiver,
):
    hook = f"json://127.0.0.1:{receiver.port}/hook/{TOKEN}"
    r, audit = run_notes(run_plain, "notes", "--var", f"hook={hook}")
    assert r.returncode == 1, r.stdout + r.stderr
    shown = run_cli("audit", "show", audit).stdout
    assert (
        "notification #1 (stage_end) to json://***: notes (Notify test): stage prepare (prepare) ok"
        in shown
    )
    assert "notification #1 (session_end) to json://***: sent in " in shown
    md = run_cli("audit", "report", audit).stdout
    assert "## Notifications" in md and "| time | notify | on | to | step | title | result |" in md
    end_row = (
        "| session\\_end | json\\://\\*\\*\\* |  | notes \\(Notify test\\)\\: run failed | sent"
    )
    assert md.count(end_row) == 1, md
    page = run_cli("audit", "report", audit, "--format", "html").stdout
    assert "<h2>Notifications</h2>" in page and "<td>session_end</td>" in page
    assert TOKEN not in shown + md + page

    # session_end: the log sealed as it stood, its checkpoint in the message
    (end,) = [b for _, b in receiver.posts if b["title"].endswith("run failed")]
    text = end["message"]
    assert "checkpoint: annotui-audit/" in text, text
    expect = next(line for line in text.splitlines() if line.startswith("expect "))
    seq, head = expect.removeprefix("expect ").split(":")
    log = read_log(audit)
    sealed = next(x for x in log if x["seq"] == int(seq) + 1)
    assert sealed["event"] == "seal" and sealed["prev"] == head
    sent = [x for x in log if x["event"] == "notify.send" and x["on"] == "session_end"]
    assert sent[0]["seq"] == int(seq) + 2  # the seal, then the notification it is told in
    # the final log still holds that head (a checkpoint published at the end pins it)
    verified = run_cli("audit", "verify", audit, "--expect", f"{seq}:{head}")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    origin = run_cli("audit", "checkpoint", audit).stdout.splitlines()[0]
    assert text.split("checkpoint: ", 1)[1].splitlines()[0] == origin
