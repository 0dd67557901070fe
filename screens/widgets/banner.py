"""The LIVE / REHEARSAL band at the top of every screen: impossible to misread."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static


class Banner(Static):
    """`mode` is 'live' or 'rehearsal'; `environment` (e.g. 'prod') is shown when known."""

    DEFAULT_CSS = """
    Banner {
        dock: top;
        height: 1;
        width: 100%;
        text-style: bold;
        content-align: center middle;
    }
    Banner.rehearsal { background: #005f87; color: #ffff5f; }
    Banner.live { background: #af0000; color: #ffffff; }
    Banner.live.prod { background: #d70000; color: #ffffff; text-style: bold reverse; }
    Banner.idle { background: #3a3a3a; color: #d0d0d0; }
    """

    mode: reactive[str] = reactive("idle")
    environment: reactive[str] = reactive("")
    checklist: reactive[str] = reactive("")

    def __init__(self, mode: str = "idle", environment: str = "", checklist: str = "") -> None:
        super().__init__(id="banner")
        self.set_reactive(Banner.mode, mode)
        self.set_reactive(Banner.environment, environment)
        self.set_reactive(Banner.checklist, checklist)

    def on_mount(self) -> None:
        self._refresh_band()

    def watch_mode(self) -> None:
        self._refresh_band()

    def watch_environment(self) -> None:
        self._refresh_band()

    def watch_checklist(self) -> None:
        self._refresh_band()

    def _refresh_band(self) -> None:
        env = self.environment
        for name in ("live", "rehearsal", "idle", "prod"):
            self.remove_class(name)
        self.add_class(self.mode)
        if self.mode == "live" and env.lower().startswith("prod"):
            self.add_class("prod")
        where = f" · {env.upper()}" if env else ""
        what = f" · {self.checklist}" if self.checklist else ""
        if self.mode == "live":
            text = f"LIVE — changes are real{where}{what}"
        elif self.mode == "rehearsal":
            text = f"REHEARSAL — nothing is changed{where}{what}"
        else:
            text = f"annotui — no run started{what}"
        self.update(text)
