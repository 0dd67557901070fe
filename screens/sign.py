"""The reviewer's signing dialog of `annotui review`: which SSH key signs (a private key file, or
a public key whose private half is in ssh-agent, as `ssh-keygen -Y sign -f` takes) and an
optional one-line note. It only asks; the viewer signs in a worker (`annotui.audit.proof`,
`annotui.audit.approvals`: the code paths of `annotui audit sign-off` and `audit approve`)."""

from __future__ import annotations

import os
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Label, Static

from screens.modals import OnceModal


class SignScreen(OnceModal[tuple[str, str] | None]):
    """Ask for the key and the note: dismissed with (key, note), or None (Esc)."""

    CSS_PATH = "sign.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, title: str, what: str, key: str) -> None:
        super().__init__()
        self.dialog_title = title
        self.what = what
        self.key = key

    def compose(self) -> ComposeResult:
        with Vertical(id="sign-box"):
            yield Label(Content.from_markup("[b]$title[/b]", title=self.dialog_title))
            yield Static(Content(self.what), id="sign-what")
            yield Label("Your SSH key (a private key file, or a public key held in ssh-agent):")
            yield Input(self.key, placeholder="~/.ssh/id_ed25519", id="sign-key")
            yield Label("A note signed with it (optional, one line):")
            yield Input("", id="sign-note")
            yield Static("", id="sign-error")
            yield Label("Enter signs · Esc cancels", classes="sign-hint")

    def on_mount(self) -> None:
        self.query_one("#sign-note" if self.key else "#sign-key", Input).focus()

    @on(Input.Submitted, "#sign-key")
    def _key_given(self) -> None:
        self.query_one("#sign-note", Input).focus()

    @on(Input.Submitted, "#sign-note")
    def _submitted(self) -> None:
        key = self.query_one("#sign-key", Input).value.strip()
        if not key:
            self.query_one("#sign-error", Static).update("Give the SSH key to sign with.")
            self.query_one("#sign-key", Input).focus()
            return
        self.dismiss((os.path.expanduser(key), self.query_one("#sign-note", Input).value))
