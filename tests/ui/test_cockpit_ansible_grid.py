"""The cockpit's live hosts x tasks grid of an ansible step (screens/widgets/ansible_grid.py),
with the real engine and real ansible-core under `run_test` at 80x24 and 120x40: the grid while
a task runs and at the end, and the one-line-per-host form where the grid does not fit."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cockpit_helpers import answer_when, make_app, question_kind, screen_text, wait_for
from textual.pilot import Pilot

from screens.widgets.ansible_grid import AnsibleGrid

SIZES = [(80, 24), (120, 40)]


def inventory(path: Path, hosts: list[str]) -> Path:
    lines = ["[all]", *(f"{h} ansible_connection=local" for h in hosts)]
    lines += ["[all:vars]", f"ansible_python_interpreter={sys.executable}"]
    path.write_text("\n".join(lines) + "\n")
    return path


async def start(pilot: Pilot, app) -> None:
    await pilot.press("enter")  # Welcome: Start
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
    await pilot.press("ctrl+s")
    await answer_when(pilot, "confirm", "y")


def grid_lines(app) -> list[str]:
    """The grid's rows as on screen (inside its border)."""
    grid = app.walk.query_one(AnsibleGrid)
    region = grid.content_region
    rows = screen_text(app).splitlines()[region.y : region.y + region.height]
    return [r[region.x : region.x + region.width].rstrip() for r in rows]


@pytest.mark.parametrize("size", SIZES)
async def test_the_grid_of_hosts_and_tasks(tmp_path: Path, size: tuple[int, int]) -> None:
    inv = inventory(tmp_path / "hosts.ini", ["u1", "u2", "u3"])
    app = make_app("ansible-grid.toml", tmp_path / "run.jsonl", cli_vars={"inventory": str(inv)})
    async with app.run_test(size=size) as pilot:
        await start(pilot, app)

        # live: the third task runs on every host, the first two have their results
        def waiting() -> bool:
            play = app.walk.query_one(AnsibleGrid).plays.get("fleet/play") if app.walk else None
            return (
                play is not None
                and len(play.tasks) == 3
                and sum(len(r.cells) for r in play.hosts.values()) == 6
            )

        await wait_for(pilot, waiting, timeout=120)
        await pilot.pause(0.1)
        lines = grid_lines(app)
        assert lines[0].split() == ["host", "1", "2", "3"], lines
        assert lines[1:4] == [f"{h}   ● ◆ …" for h in ("u1", "u2", "u3")], lines
        if size == (120, 40):  # room for the line naming the task that runs
            assert lines[4] == "now 3: wait a little", lines
        assert "Ansible: 3 hosts · task 3 · ●3 ◆3" in screen_text(app)
        await wait_for(pilot, lambda: question_kind(app) == "failure", timeout=120)
        grid = app.walk.query_one(AnsibleGrid)
        ended = str(grid.render()).splitlines()  # the question's modal is over the screen now
        assert "u3   ● ◆ ● ✗" in ended and "u1   ● ◆ ● -" in ended, ended
        play = app.walk.query_one(AnsibleGrid).plays["fleet/play"]
        assert play.done and play.status == "failed"
        assert [play.hosts[h].state(3, True) for h in ("u1", "u2", "u3")] == [
            "skipped",
            "skipped",
            "failed",
        ]
        app.exit()


@pytest.mark.parametrize("size", SIZES)
async def test_many_hosts_one_line_each_bad_ones_first(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    hosts = [f"h{i:02d}" for i in range(30)]
    inv = inventory(tmp_path / "hosts.ini", hosts)
    app = make_app(
        "ansible-grid.toml",
        tmp_path / "run.jsonl",
        cli_vars={"inventory": str(inv), "playbook": "ansible-many.yml"},
    )
    async with app.run_test(size=size) as pilot:
        await start(pilot, app)
        await wait_for(pilot, lambda: question_kind(app) == "failure", timeout=180)
        grid = app.walk.query_one(AnsibleGrid)
        play = grid.plays["fleet/play"]
        assert not play.fits(grid.content_region.width, grid.content_region.height)
        lines = play.compact(grid.content_region.width, grid.content_region.height)
        text = [str(line) for line in lines]
        assert text[0].startswith("h07 ") and "✗1" in text[0], text  # the failed host first
        assert text[-1].startswith("… ") and "more hosts: ok " in text[-1], text
        assert len(text) == grid.content_region.height <= size[1] // 2
        # what the widget renders is that
        assert str(grid.render()).splitlines() == text
        app.exit()
