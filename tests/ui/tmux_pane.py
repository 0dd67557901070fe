"""A real tmux server on a private socket, for end-to-end tests: send keys, read the screen.

Only this server is ever killed (`kill-server` on our own socket), never anybody else's tmux.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class TmuxError(AssertionError):
    """The expected text did not appear on the screen in time (the message shows the screen)."""


class TmuxPane:
    """One detached session running ``command`` in a ``width`` x ``height`` pane."""

    def __init__(
        self,
        tmpdir: Path,
        command: Sequence[str],
        *,
        width: int = 100,
        height: int = 30,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        tmux = shutil.which("tmux")
        if tmux is None:
            raise RuntimeError("tmux is not installed")
        self.tmux = tmux
        self.socket = tmpdir / "tmux.sock"
        self.exit_file = tmpdir / "pane.exit"
        shell_cmd = " ".join(shlex.quote(c) for c in command)
        # Keep the pane after the program exits so its last screen and exit code can be read.
        wrapped = f"{shell_cmd}; echo $? > {shlex.quote(str(self.exit_file))}; sleep 600"
        full_env = {"TERM": "xterm-256color", "COLORTERM": "truecolor", **(env or {})}
        env_args: list[str] = []
        for key, value in full_env.items():
            env_args += ["-e", f"{key}={value}"]
        self._tmux(
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            str(width),
            "-y",
            str(height),
            *env_args,
            *(["-c", str(cwd)] if cwd else []),
            "sh",
            "-c",
            wrapped,
        )
        self._tmux("set", "-g", "escape-time", "0")
        self._tmux("set", "-g", "status", "off")

    def _tmux(self, *args: str) -> str:
        out = subprocess.run(
            [self.tmux, "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=10,
            env={**os.environ, "TMUX": ""},
        )
        if out.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def screen(self) -> str:
        """The visible pane as text."""
        return self._tmux("capture-pane", "-p", "-t", "0")

    def send(self, *keys: str) -> None:
        """tmux key names (Enter, Tab, Escape, C-c, ...) or literal text with ``literal``."""
        self._tmux("send-keys", "-t", "0", *keys)

    def type(self, text: str) -> None:
        """Type ``text`` literally (no key-name lookup)."""
        self._tmux("send-keys", "-t", "0", "-l", text)

    def wait_for(
        self, text: str | Callable[[str], bool], timeout: float = 15.0, poll: float = 0.05
    ) -> str:
        """Poll the screen until ``text`` appears (or the predicate holds); return the screen."""
        check = text if callable(text) else (lambda s: text in s)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(poll)
        raise TmuxError(f"timed out after {timeout} s waiting for {text!r}; screen:\n{screen}")

    def open_new_run(self, timeout: float) -> None:
        """From the cockpit's first screen to the run's start screen (New run, Enter): Ctrl+S
        then starts the run."""
        self.wait_for("New run", timeout=timeout)
        self.send("Enter")
        self.wait_for("Start the run", timeout=timeout)

    def shell_pid(self) -> int:
        """The pid of the pane's shell (whose child is the command)."""
        return int(self._tmux("display", "-p", "-t", "0", "#{pane_pid}").strip())

    def exit_code(self, timeout: float = 15.0) -> int:
        """Wait until the program in the pane exits; return its exit status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exit_file.exists() and self.exit_file.read_text().strip():
                return int(self.exit_file.read_text())
            time.sleep(0.05)
        raise TmuxError(f"the program did not exit in {timeout} s; screen:\n{self.screen()}")

    def kill(self) -> None:
        """Kill this private server only (its socket), then remove the socket."""
        subprocess.run(
            [self.tmux, "-S", str(self.socket), "kill-server"],
            capture_output=True,
            timeout=10,
            env={**os.environ, "TMUX": ""},
        )
        self.socket.unlink(missing_ok=True)
