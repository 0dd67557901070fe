"""Resolve an SSH target (a Host alias or `user@host:port`) through the operator's ssh config.

The config file is, in order: the `config_path` argument, `$ANNOTUI_SSH_CONFIG` (for tests and
sandboxes), `~/.ssh/config`. It is parsed by `paramiko.SSHConfig` (Host and Match blocks, first
value wins, `%h`/`~` tokens); `Include` lines are expanded here since paramiko does not.

Honoured: HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump, ProxyCommand,
ServerAliveInterval, ServerAliveCountMax, UserKnownHostsFile, GlobalKnownHostsFile,
HostKeyAlias, ConnectTimeout. StrictHostKeyChecking is read but can only make things stricter:
annotui always verifies host keys and never adds one (see `hostkeys`).
"""

from __future__ import annotations

import getpass
import glob
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import paramiko

from annotui.transport.base import TransportError

ENV_CONFIG = "ANNOTUI_SSH_CONFIG"
DEFAULT_IDENTITIES = ("id_rsa", "id_ecdsa", "id_ed25519", "id_dsa")
DEFAULT_USER_KNOWN_HOSTS = "~/.ssh/known_hosts ~/.ssh/known_hosts2"
DEFAULT_GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
_INCLUDE = re.compile(r"^\s*include(?:\s*=\s*|\s+)(.+?)\s*$", re.IGNORECASE)
_SPEC = re.compile(
    r"^(?:(?P<user>[^@\s]+)@)?(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:@\s]+))(?::(?P<port>\d+))?$"
)


@dataclass(frozen=True, slots=True)
class SshTarget:
    """Everything needed to reach one host, as OpenSSH would resolve it."""

    spec: str
    """What was asked for: the alias or user@host:port."""
    hostname: str
    port: int
    user: str
    identity_files: tuple[Path, ...]
    identities_only: bool
    proxy_jump: tuple[str, ...]
    proxy_command: str | None
    keepalive_interval: int
    """ServerAliveInterval (0: not set)."""
    keepalive_count: int
    known_hosts: tuple[Path, ...]
    host_key_alias: str | None
    connect_timeout: float | None

    @property
    def address(self) -> str:
        return f"{self.hostname}:{self.port}"


def config_file(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    return Path.home() / ".ssh" / "config"


def _expand_includes(path: Path, depth: int = 0) -> str:
    """The config text with `Include` lines replaced by the files they name (like OpenSSH)."""
    if depth > 16:
        raise TransportError(f"ssh config: Include nested too deeply at {path}")
    out: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _INCLUDE.match(line)
        if not m:
            out.append(line)
            continue
        for pattern in m.group(1).split():
            pattern = os.path.expanduser(pattern)
            if not os.path.isabs(pattern):
                pattern = str(Path.home() / ".ssh" / pattern)
            for inc in sorted(glob.glob(pattern)):
                out.append(_expand_includes(Path(inc), depth + 1))
    return "\n".join(out)


def load_config(path: Path) -> paramiko.SSHConfig:
    """Parse the ssh config at `path` (an absent file is an empty config)."""
    if not path.exists():
        return paramiko.SSHConfig()
    try:
        return paramiko.SSHConfig.from_file(io.StringIO(_expand_includes(path)))
    except (OSError, ValueError, paramiko.ConfigParseError) as e:
        raise TransportError(f"ssh config {path}: {e}") from e


def parse_spec(spec: str) -> tuple[str | None, str, int | None]:
    """Split `user@host:port` (any part but host optional; `[v6]:port` allowed)."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise TransportError(f"bad ssh target {spec!r}: expected a Host alias or user@host:port")
    port = int(m.group("port")) if m.group("port") else None
    if port is not None and not 0 < port < 65536:
        raise TransportError(f"bad ssh target {spec!r}: port out of range")
    return m.group("user"), m.group("v6") or m.group("host"), port


def _paths(value: str, user: str) -> tuple[Path, ...]:
    home = str(Path.home())
    return tuple(
        Path(os.path.expanduser(p.replace("%d", home).replace("%u", user)))
        for p in value.split()
        if p.lower() != "none"
    )


def _int(value: str | None, key: str, spec: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise TransportError(f"ssh config for {spec!r}: {key} {value!r} is not a number") from None


def resolve(spec: str, config: paramiko.SSHConfig) -> SshTarget:
    """Resolve `spec` as OpenSSH would: explicit user/port in the spec win over the config."""
    user, host, port = parse_spec(spec)
    opts = config.lookup(host)
    local_user = getpass.getuser()
    user = user or opts.get("user") or local_user
    port = port or _int(opts.get("port"), "Port", spec, 22)
    if "identityfile" in opts:
        identities = tuple(Path(os.path.expanduser(p)) for p in opts["identityfile"])
    else:
        ssh_dir = Path.home() / ".ssh"
        identities = tuple(ssh_dir / n for n in DEFAULT_IDENTITIES if (ssh_dir / n).exists())
    jump = opts.get("proxyjump", "")
    proxy_command = opts.get("proxycommand")
    timeout = opts.get("connecttimeout")
    return SshTarget(
        spec=spec,
        hostname=opts.get("hostname", host),
        port=port,
        user=user,
        identity_files=identities,
        identities_only=opts.get("identitiesonly", "no").lower() == "yes",
        proxy_jump=tuple(j for j in jump.split(",") if j) if jump.lower() != "none" else (),
        proxy_command=proxy_command if proxy_command and proxy_command != "none" else None,
        keepalive_interval=_int(opts.get("serveraliveinterval"), "ServerAliveInterval", spec, 0),
        keepalive_count=_int(opts.get("serveralivecountmax"), "ServerAliveCountMax", spec, 3),
        known_hosts=_paths(opts.get("userknownhostsfile", DEFAULT_USER_KNOWN_HOSTS), local_user)
        + _paths(opts.get("globalknownhostsfile", DEFAULT_GLOBAL_KNOWN_HOSTS), local_user),
        host_key_alias=opts.get("hostkeyalias"),
        connect_timeout=float(_int(timeout, "ConnectTimeout", spec, 0)) or None,
    )
