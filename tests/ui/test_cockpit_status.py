"""The banner and the status panel, against the real engine and a real supervisord."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cockpit_helpers import (
    answer_when,
    events_named,
    make_app,
    question_kind,
    screen_text,
    start_run,
    wait_for,
)

sys.path.insert(0, str(Path(__file__).parents[1]))
from supervisord_fixture import Supervisord, running_supervisord

from screens.app import CockpitApp
from screens.widgets.banner import Banner
from screens.widgets.status_panel import StatusPanel


@contextmanager
def supervised_app(tmp_path: Path, **options: Any) -> Iterator[tuple[Supervisord, CockpitApp]]:
    """A real supervisord, and the cockpit on supervised.toml pointed at it (audit log
    tmp_path/run.jsonl, the status polled every 0.3 s)."""
    with running_supervisord(tmp_path / "sv") as sv:
        cli_vars = {"url": sv.url, "password": sv.password}
        yield (
            sv,
            make_app(
                "supervised.toml",
                tmp_path / "run.jsonl",
                cli_vars=cli_vars,
                status_every=0.3,
                **options,
            ),
        )


def banner_text(app) -> str:
    return str(app.screen.query_one(Banner).render())


async def test_rehearsal_banner_and_nothing_changes(tmp_path: Path) -> None:
    audit = tmp_path / "run.jsonl"
    app = make_app(
        "local.toml", audit, rehearse=True, cli_vars={"workdir": str(tmp_path), "release": "v1.0.0"}
    )
    async with app.run_test(size=(80, 24)) as pilot:
        banner = app.screen.query_one(Banner)
        assert banner.has_class("rehearsal") and not banner.has_class("live")
        assert "REHEARSAL" in banner_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
        assert "REHEARSAL" in banner_text(app)
        await pilot.press("ctrl+s")
        await answer_when(pilot, "confirm", "y")
        await answer_when(pilot, "evidence", *"seen", "enter")
        await wait_for(pilot, lambda: question_kind(app) == "confirm")
        assert app.screen.step.simulated  # type: ignore[attr-defined]
        assert "SIMULATED" in str(app.walk.query_one("#step-meta").render())  # type: ignore[union-attr]
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(events_named(audit, "step.finished")[1:]))
        walk = app.walk
        assert walk is not None and "REHEARSAL" in str(walk.query_one(Banner).render())
    assert not (tmp_path / "marker.txt").exists()
    assert events_named(audit, "step.finished")[1]["outcome"] == "would-run"
    assert events_named(audit, "session.start")[0]["mode"] == "rehearsal"


async def test_live_prod_banner_is_red_with_the_environment(tmp_path: Path) -> None:
    app = make_app("guarded.toml", tmp_path / "run.jsonl", cli_vars={"workdir": str(tmp_path)})
    async with app.run_test(size=(80, 24)) as pilot:
        await start_run(pilot)
        banner = app.walk.query_one(Banner)  # type: ignore[union-attr]
        assert banner.has_class("live") and banner.has_class("prod")
        assert "LIVE" in str(banner.render()) and "PROD" in str(banner.render())


async def test_status_panel_follows_a_real_supervisord(tmp_path: Path) -> None:
    with supervised_app(tmp_path, clock=lambda: 0.0) as (sv, app):
        async with app.run_test(size=(120, 40)) as pilot:
            await start_run(pilot)

            def panel() -> str:
                return str(app.walk.query_one(StatusPanel).render())  # type: ignore[union-attr]

            await wait_for(pilot, lambda: "alpha:alpha RUNNING" in panel())
            assert "beta:beta RUNNING" in panel()
            await wait_for(pilot, lambda: "active jobs 3" in panel())
            assert sv.password not in panel()
            await pilot.press("y")  # stop alpha:*
            await wait_for(pilot, lambda: "alpha:alpha STOPPED" in panel())
            assert "beta:beta RUNNING" in panel()
            await wait_for(pilot, lambda: question_kind(app) == "confirm")
            sv.stop()  # the endpoint goes away: marked, not hidden
            await wait_for(pilot, lambda: "unreachable" in panel())
            assert "alpha:alpha STOPPED" in panel()
    states = events_named(tmp_path / "run.jsonl", "supervisor.state")
    assert states[-1]["processes"]["alpha:alpha"] == "STOPPED"


async def test_at_80_columns_the_status_is_a_strip_with_ages_and_uptime(tmp_path: Path) -> None:
    with supervised_app(tmp_path) as (_sv, app):
        async with app.run_test(size=(80, 24)) as pilot:
            await start_run(pilot)
            await pilot.press("escape")
            walk = app.walk
            assert walk is not None
            panel = walk.query_one(StatusPanel)
            assert panel.has_class("-strip") and panel.display
            # the step pane keeps its width: the strip lies under the panes
            assert walk.query_one("#center").size.width > 40
            await wait_for(pilot, lambda: "alpha:alpha RUNNING up " in str(panel.render()))
            await wait_for(pilot, lambda: "active jobs 3 (" in str(panel.render()))
            text = screen_text(app)
            assert "alpha:alpha RUNNING up" in text and "active jobs 3 (" in text
            await pilot.press("t")  # hidden, and back
            assert not panel.display
            await pilot.press("t")
            assert panel.display


async def test_the_demo_banner_says_it_is_the_sandbox(tmp_path: Path) -> None:
    app = make_app("local.toml", tmp_path / "run.jsonl", cli_vars={"workdir": str(tmp_path)})
    app.place = "the local sandbox"  # what `annotui demo` sets
    async with app.run_test(size=(80, 24)) as pilot:
        assert "LIVE on the local sandbox — changes are real there" in banner_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "VariablesScreen")
        assert "the local sandbox" in banner_text(app)
