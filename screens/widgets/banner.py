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

    def __init__(
        self, mode: str = "idle", environment: str = "", checklist: str = "", place: str = ""
    ) -> None:
        # Styled and worded from the start: nothing to restyle when it mounts.
        super().__init__(
            band_text(mode, environment, checklist, place),
            id="banner",
            classes=band_classes(mode, environment),
        )
        self.place = place
        """What the run changes when it is not the checklist's real target ('the local
        sandbox' for `annotui demo`)."""
        self.set_reactive(Banner.mode, mode)
        self.set_reactive(Banner.environment, environment)
        self.set_reactive(Banner.checklist, checklist)

    def watch_mode(self) -> None:
        self._refresh_band()

    def watch_environment(self) -> None:
        self._refresh_band()

    def watch_checklist(self) -> None:
        self._refresh_band()

    def _refresh_band(self) -> None:
        self.set_classes(band_classes(self.mode, self.environment))
        self.update(band_text(self.mode, self.environment, self.checklist, self.place))


def band_classes(mode: str, environment: str) -> str:
    """The band's CSS classes: the mode, and `prod` for a live run against production."""
    return f"{mode} prod" if mode == "live" and environment.lower().startswith("prod") else mode


def band_text(mode: str, environment: str, checklist: str, place: str = "") -> str:
    where = f" · {environment.upper()}" if environment else ""
    what = f" · {checklist}" if checklist else ""
    if mode == "live" and place:
        return f"LIVE on {place} — changes are real there{where}{what}"
    if mode == "live":
        return f"LIVE — changes are real{where}{what}"
    if mode == "rehearsal":
        on = f" on {place}" if place else ""
        return f"REHEARSAL{on} — nothing is changed{where}{what}"
    return f"annotui — no run started{what}"
