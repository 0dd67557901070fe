"""Help: the keys of the cockpit."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

KEYS = """\
# Keys

| key | what it does |
|---|---|
| **Enter** | answer the engine's question; after a step printed output it waits for Enter |
| **y** / **s** / **Esc** | in a confirmation: run (done) / skip with a reason / back to the step |
| **↓** / **PgDn** | in a confirmation: read the rest of a long command (y waits for all of it) |
| **Ctrl+S** | skip when a typed confirmation is asked; start on Welcome and Variables |
| **Ctrl+C** | while a step runs: asks, then cancels it; otherwise stop the run |
| **q** / **Ctrl+Q** | stop safely (asks first); the run resumes with `--resume --audit PATH` |
| **l** / **o** / **c** | step list (↑↓ view a step, its output) / output / the current step |
| **t** | show or hide the live status (a strip under the panes below 100 columns) |
| **Ctrl+P** | command palette: jump to a step, open the audit viewer, toggle the status |
| **m** / **h** / **v** | on the summary: export Markdown / HTML, open the audit viewer |
| **?** / **F1** | this help |

Every step is confirmed before it runs. A critical step cannot be skipped; any other skip needs
a reason, and it is recorded. REHEARSAL (blue band) simulates every step that changes the
target; LIVE (red band) runs them for real.
"""


VIEWER_KEYS = """\
# Keys of the audit viewer

| key | what it does |
|---|---|
| **↑** / **↓** | move through the timeline; the step's detail follows |
| **/** | filter by step; **c** clears every filter |
| **o** | the selected step's full output (**n** / **p** page) |
| **m** / **h** | export a Markdown / HTML report |
| **f** | follow new records, or pause |
| **r** | verify the log again |
| **s** | `annotui review` only: sign off the sealed log with your SSH key (`PATH.signoffs`) |
| **a** | `annotui review` only: approve the selected (or the one) step waiting for approval |
| **Esc** | back to the timeline; from the timeline, back to the run |
| **q** | back to the run (in `annotui review`: quit) |

The viewer only reads the log: nothing in it changes the run or the file (a sign-off or an
approval is written beside it, in `PATH.signoffs` or `PATH.approvals`).
"""


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def __init__(self, keys: str = KEYS) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(self.keys)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
