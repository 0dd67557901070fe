"""The run's steps, grouped by stage, each with its state. Selecting one views it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

STATE_GLYPHS: dict[str, tuple[str, str]] = {
    "pending": ("·", "#8a8a8a"),
    "shown": ("▶", "#ffd75f"),
    "running": ("»", "#5fd7ff"),
    "ok": ("✓", "#5fd75f"),
    "done": ("✓", "#5fd75f"),
    "failed": ("✗", "#ff5f5f"),
    "cancelled": ("✗", "#ff5f5f"),
    "timeout": ("✗", "#ff5f5f"),
    "skipped": ("↷", "#d7af5f"),
    "would-run": ("≈", "#87afff"),
    "unverified": ("≟", "#d7af5f"),
    "unknown": ("?", "#ff87ff"),
}


class StepList(OptionList):
    """Option ids are step keys; stage headers are disabled options."""

    DEFAULT_CSS = """
    StepList { width: 30; height: 1fr; border: round $panel-lighten-2; }
    StepList:focus { border: round $accent; }
    """

    def __init__(self) -> None:
        super().__init__(id="step-list")
        self.border_title = "Steps"
        self.states: dict[str, str] = {}
        self.titles: dict[str, str] = {}

    def set_plan(self, stages: list[dict[str, Any]]) -> None:
        """From the RunPlanned event's `stages`."""
        options: list[Option] = []
        for stage in stages:
            header = Text(stage.get("title") or stage["key"], style="bold underline")
            options.append(Option(header, id=f"stage:{stage['key']}", disabled=True))
            for step in stage["steps"]:
                self.titles[step["key"]] = step.get("title") or step["id"]
                self.states.setdefault(step["key"], "pending")
                options.append(Option(self._prompt(step["key"]), id=step["key"]))
        self.set_options(options)

    def set_state(self, step_key: str, state: str) -> None:
        if step_key not in self.titles:
            return
        self.states[step_key] = state
        self.replace_option_prompt(step_key, self._prompt(step_key))

    def show_current(self, step_key: str) -> None:
        if step_key in self.titles:
            self.highlighted = self.get_option_index(step_key)

    def _prompt(self, step_key: str) -> Text:
        state = self.states.get(step_key, "pending")
        glyph, colour = STATE_GLYPHS.get(state, ("·", "#8a8a8a"))
        text = Text(f"{glyph} ", style=f"bold {colour}")
        text.append(self.titles[step_key])
        return text
