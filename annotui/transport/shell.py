"""How a command's text reaches the shell: on a pipe, never in an argv.

`ps` (and /proc/PID/cmdline) shows every process's argv to every user, so a secret inlined in a
command must not be there. Every command therefore starts as a fixed bootstrap in argv that reads
the command's text (its script, with the cwd and environment the run asked for) from its stdin:

- Local (`local_argv`): `/bin/sh -c 'echo +$$ >&N; exec N>&-; . /dev/stdin'`: the shell first
  registers its process group with the run's lifeline (`local`) through the descriptor N of its
  pipe, closes it, then reads its script from a pipe that holds all of it, written whole and
  closed once the shell has started and the step's start is durable (sized to hold it, so it is
  never run cut short); the script's first words point stdin at /dev/null.
- Remote (`remote_command`): the exec request is `exec sh -c BOOTSTRAP sh`. The bootstrap prints
  the process group (`PGID_MARKER`, on stderr; on stdout with a pty), reads a header line
  `LENGTH NONCE` and LENGTH bytes (`head -c`: exact on pipes and ttys; the random NONCE ends the
  payload, so `$(...)` strips no trailing newline and a truncated payload never runs), and
  evaluates the script in the same shell: `$$`, exit codes and death by a signal are the
  command's own, as with `sh -c`. With a pty, the terminal is put in raw mode without echo
  before the marker is printed (annotui sends the payload only after it), and restored before
  the script runs.

The lifeline (remote, without a pty): before the script runs, the bootstrap starts a watcher in
the command's process group, outside the shell's jobs (a `wait` in the script does not wait for
it), ignoring SIGTERM and SIGHUP, holding the session's stdin. sshd closes that stdin when the
command's shell exits, when the channel is closed (cancel, timeout) and when the connection dies
(annotui killed, link lost); if the command's shell is then still alive, the watcher sends SIGTERM
to the whole group, then SIGKILL after `KILL_GRACE` seconds. A command that ended by itself leaves
what it started in the background alone, as before. With a pty, the terminal's hangup signals
the session instead (the watcher would hold the terminal open). Local commands have their
lifeline in `local` (one watcher process for the whole run).
"""

from __future__ import annotations

import re
import secrets
import shlex

from annotui.transport.base import KILL_GRACE, TransportError

MAX_SCRIPT = 1 << 20
"""The longest command text (with its cwd and environment) that is run, in bytes."""
PGID_MARKER = "annotui:pgid="
"""First line the remote bootstrap prints (stderr; stdout with a pty): the command's process
group (sshd makes each session's shell a session leader), then, where the host has /proc, its
leader's start time and the host's boot id: `annotui:pgid=PGID[ STARTTIME[ BOOT_ID]]`."""
_BOOT_ID = re.compile(r"^[0-9A-Fa-f-]{1,64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def local_argv(lifeline_fd: int | None) -> tuple[str, ...]:
    """The argv of every local command: register its group with the lifeline through
    `lifeline_fd` and close it (when given), then run the script that stdin holds."""
    if lifeline_fd is None:
        return ("/bin/sh", "-c", ". /dev/stdin")
    n = int(lifeline_fd)
    return ("/bin/sh", "-c", f"echo +$$ 2>/dev/null >&{n}; exec {n}>&-; . /dev/stdin")


_WATCHER = (
    "( ( trap '' TERM HUP; while read -r __l; do :; done; "
    'kill -s 0 -- "$__p" 2>/dev/null || exit 0; kill -s TERM -- -"$__p"; '
    f'sleep {KILL_GRACE:g}; kill -s KILL -- -"$__p" ) <&3 >/dev/null 2>&1 & )'
)
_IDENTITY = (
    '__i=; if IFS= read -r __l </proc/$$/stat; then set -- ${__l##*) }; __i=" ${20}"; '
    'IFS= read -r __l </proc/sys/kernel/random/boot_id && __i="$__i $__l"; set --; '
    "fi 2>/dev/null; "
)
"""Sets `__i` to ` STARTTIME BOOT_ID` of the bootstrap's shell (nothing without /proc)."""
REMOTE_BOOTSTRAP = (
    f"{_IDENTITY}"
    f"if [ -t 0 ]; then __t=$(stty -g) && stty raw -echo; echo {PGID_MARKER}$$$__i; "
    f"else echo {PGID_MARKER}$$$__i >&2; fi; "
    "IFS=' ' read -r __n __e && __s=$(head -c \"$__n\") || exit 125; "
    'case $__s in *"$__e") ;; *) exit 125 ;; esac; '
    'if [ -t 0 ]; then stty "$__t"; '
    f"else __p=$$; exec 3<&0; {_WATCHER}; exec 3<&- </dev/null; fi; "
    'eval "unset -v __t __n __e __s __p __i __l; ${__s%"$__e"}"'
)
"""Fixed text: the only thing of a remote command in any argv (one line, so that the shell's
line numbers in messages about the script are the script's own)."""


def _encode(text: str, what: str) -> bytes:
    """The bytes of `text` (lone surrogates from undecodable bytes become those bytes again)."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as e:  # a lone surrogate that no byte stands for
        raise TransportError(f"the {what} holds text that is not UTF-8 ({e.reason})") from e
    if b"\0" in data:
        raise TransportError(f"the {what} contains a NUL byte, which no shell command can hold")
    return data


def script(
    command: str, *, cwd: str | None = None, env: dict[str, str] | None = None, stdin_null: bool
) -> bytes:
    """The shell text that runs `command`: optionally `cd -- CWD || exit`, stdin at /dev/null,
    `export NAME=VALUE` (every value shell-quoted; names must be identifiers), then `command` as
    it is. Raises `TransportError` for a NUL byte, a bad name or a text over `MAX_SCRIPT`."""
    parts: list[str] = []
    if cwd:
        parts.append(f"cd -- {shlex.quote(cwd)} || exit; ")
    if stdin_null:
        parts.append("exec </dev/null; ")
    if env:
        bad = [k for k in env if not _ENV_NAME.match(k)]
        if bad:
            raise TransportError(f"invalid environment variable name(s): {', '.join(bad)}")
        parts += [f"export {k}={shlex.quote(v)}; " for k, v in env.items()]
    head = _encode("".join(parts), "working directory or environment")
    data = head + _encode(command, "command")
    if len(data) > MAX_SCRIPT:
        raise TransportError(
            f"the command is too long: {len(data)} bytes (at most {MAX_SCRIPT} with its "
            "working directory and environment)"
        )
    return data


def remote_command() -> str:
    """The exec request of every remote command (run by the user's login shell)."""
    return f"exec sh -c {shlex.quote(REMOTE_BOOTSTRAP)} sh"


def remote_payload(command: str, cwd: str | None, env: dict[str, str] | None) -> bytes:
    """What the remote bootstrap reads from stdin: the header line and the script + nonce."""
    nonce = secrets.token_hex(8).encode()
    body = script(command, cwd=cwd, env=env, stdin_null=False) + nonce
    return b"%d %s\n" % (len(body), nonce) + body


def parse_marker(rest: str) -> tuple[int, int | None, str | None] | None:
    """The process group, its leader's start time and the boot id from what follows
    `PGID_MARKER` (None if that is not a process-group line)."""
    parts = rest.split(" ")
    if not parts[0].isdigit() or len(parts) > 3:
        return None
    started = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    boot = parts[2] if len(parts) > 2 and _BOOT_ID.match(parts[2]) else None
    return int(parts[0]), started, boot


def group_alive_script(pgid: int, starttime: int | None = None, boot_id: str | None = None) -> str:
    """A command that prints `alive` if a process of group `pgid` is alive, else `dead`
    (`parse_group_alive`). Zombies do not count (where nothing reaps them, a finished command's
    would stay for ever): with /proc, its processes' states are read; without it, `kill -s 0`
    answers (and a group of another user's, EPERM, is alive). With /proc, another boot id than
    `boot_id`, or a process `pgid` that started at another time than `starttime`, is `dead`
    (the group's id was reused: see `base.is_alive`)."""
    n = int(pgid)
    checks = ""
    if boot_id is not None:
        checks += (
            "IFS= read -r __b </proc/sys/kernel/random/boot_id 2>/dev/null && "
            f'[ "$__b" != {shlex.quote(boot_id)} ] && {{ echo dead; exit 0; }}; '
        )
    if starttime is not None:
        checks += (
            f"if IFS= read -r __l </proc/{n}/stat 2>/dev/null; then set -- ${{__l##*) }}; "
            f'[ "${{20}}" = {int(starttime)} ] || {{ echo dead; exit 0; }}; fi; '
        )
    return (
        f"if [ -r /proc/self/stat ]; then {checks}for __f in /proc/[0-9]*/stat; do "
        'IFS= read -r __l 2>/dev/null <"$__f" || continue; set -- ${__l##*) }; '
        f'if [ "$3" = {n} ] && [ "$1" != Z ]; then echo alive; exit 0; fi; done; echo dead; '
        f"else __m=$(LC_ALL=C kill -s 0 -- -{n} 2>&1) && echo alive || case $__m in "
        '*"No such process"*) echo dead ;; *) echo alive ;; esac; fi'
    )


def parse_group_alive(stdout: list[str]) -> bool | None:
    """What `group_alive_script` said, None if it said neither."""
    answer = stdout[-1].strip() if stdout else ""
    return True if answer == "alive" else False if answer == "dead" else None
