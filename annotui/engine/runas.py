"""Running a command as another user (`sudo -n`) or with another shell (`shell = "bash"`).

The transports run every command with `/bin/sh`, its text on a pipe (`annotui.transport.shell`).
A step with `user` or `shell` hands the transport a small wrapper instead, whose last command is

    exec sudo -n -u USER -- SHELL -c BOOT <<'ANNOTUI_EOF_<nonce>'
    cd -- CWD || exit
    COMMAND
    ANNOTUI_EOF_<nonce>

so the command's text reaches the other user's shell on its stdin (a here-document: a pipe),
never in an argv; BOOT is fixed text that reads the script, points stdin back at /dev/null (the
terminal with a pty) and evaluates it: `$$`, exit statuses and signals are the command's own.
The here-document's delimiter is random and checked against the script, so no line of a command
can end it early. `sudo -n` never waits for a password: before the command, one `sudo -n ... :`
asks whether it would run, and when it would not the wrapper prints why, naming the host and the
user, and exits `SUDO_REFUSED`. Without `user`, only the shell changes (`exec SHELL -c BOOT`).
"""

from __future__ import annotations

import secrets
import shlex

DEFAULT_SHELL = "/bin/sh"
SUDO_REFUSED = 97
"""Exit status of a wrapper whose `sudo -n` would not run the command (a password is needed, or
the user may not run it)."""
_BOOT = '__s=$(cat); exec <{stdin}; eval "unset -v __s; $__s"'


def plain(shell: str | None) -> bool:
    """Whether a shell is the transports' own (no wrapper needed)."""
    return shell in (None, "", "sh", DEFAULT_SHELL)


def refused_message(user: str, host: str) -> str:
    return (
        f"sudo -n refused to run as {user} on host {host}: it needs a password or the "
        f"login user may not run commands as {user} (annotui never types a password; allow "
        "it with a NOPASSWD sudoers rule)"
    )


def wrap(
    command: str,
    *,
    cwd: str | None,
    user: str | None,
    login: bool,
    shell: str | None,
    host: str,
    pty: bool = False,
) -> tuple[str, str | None]:
    """(the script the transport runs, the cwd the transport is given) for a command run as
    `user` (None: the login user) by `shell` (None: /bin/sh). Unchanged without either."""
    if user is None and plain(shell):
        return command, cwd
    program = shell or DEFAULT_SHELL
    inner = (f"cd -- {shlex.quote(cwd)} || exit\n" if cwd else "") + command
    if user is not None and login and not cwd:
        inner = "cd || exit\n" + inner
    delimiter = _delimiter(inner)
    boot = shlex.quote(_BOOT.format(stdin="/dev/tty" if pty else "/dev/null"))
    flags = " -l" if user is not None and login else ""
    run = f"{shlex.quote(program)}{flags} -c {boot}"
    lines = []
    if user is not None:
        sudo = f"sudo -n -u {shlex.quote(user)} --"
        refused = shlex.quote(refused_message(user, host))
        lines.append(
            f"__e=$({sudo} {shlex.quote(program)} -c : 2>&1 </dev/null) || "
            f'{{ printf "annotui: %s\\n  sudo said: %s\\n" {refused} "$__e" >&2; '
            f"exit {SUDO_REFUSED}; }}"
        )
        run = f"{sudo} {run}"
    lines.append(f"exec {run} <<'{delimiter}'")
    return "\n".join([*lines, inner, delimiter]) + "\n", None


def _delimiter(text: str) -> str:
    lines = set(text.splitlines())
    while True:
        word = f"ANNOTUI_EOF_{secrets.token_hex(8)}"
        if word not in lines:
            return word


def described(user: str | None, login: bool, shell: str | None) -> str:
    """'as postgres (login, bash)' for the screens, the plain mode and the log; '' if neither."""
    extra = [w for w in ("login" if user and login else "", "" if plain(shell) else shell) if w]
    who = f"as {user}" if user else ""
    if extra:
        return f"{who} ({', '.join(extra)})".strip() if who else f"with {extra[-1]}"
    return who
