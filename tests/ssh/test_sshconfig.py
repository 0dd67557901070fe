"""ssh config resolution and known_hosts matching (pure functions, no server needed)."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from annotui.transport import hostkeys
from annotui.transport.base import TransportError
from annotui.transport.sshconfig import load_config, parse_spec, resolve


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("tsd", (None, "tsd", None)),
        ("root@tsd", ("root", "tsd", None)),
        ("bob@10.0.0.1:2222", ("bob", "10.0.0.1", 2222)),
        ("bob@[::1]:2200", ("bob", "::1", 2200)),
    ],
)
def test_parse_spec(spec: str, expected: tuple[str | None, str, int | None]) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("bad", ["", "a b", "host:99999", "@host", "x;rm -rf /"])
def test_bad_spec_is_a_clear_error(bad: str) -> None:
    with pytest.raises(TransportError, match="ssh target"):
        parse_spec(bad)


def test_resolve_alias_with_include_and_jump(tmp_path: Path) -> None:
    inc = tmp_path / "site.conf"
    inc.write_text(
        "Host p22-submit-dev\n  HostName 10.1.2.3\n  Port 2222\n  User deploy\n"
        "  IdentityFile ~/keys/%h\n  IdentitiesOnly yes\n  ProxyJump gw1,gw2\n"
        "  ServerAliveInterval 20\n  ConnectTimeout 7\n"
        "  UserKnownHostsFile ~/kh1 /etc/kh2\n  StrictHostKeyChecking no\n"
    )
    cfg = tmp_path / "config"
    cfg.write_text(f"Include {inc}\nHost *\n  User fallback\n  Port 22\n")
    t = resolve("p22-submit-dev", load_config(cfg))
    assert (t.hostname, t.port, t.user) == ("10.1.2.3", 2222, "deploy")
    assert t.identity_files == (Path.home() / "keys" / "10.1.2.3",)
    assert t.identities_only and t.proxy_jump == ("gw1", "gw2")
    assert t.keepalive_interval == 20 and t.connect_timeout == 7.0
    assert t.known_hosts[:2] == (Path.home() / "kh1", Path("/etc/kh2"))
    # Explicit user/port in the spec win over the config.
    t2 = resolve("ops@p22-submit-dev:2022", load_config(cfg))
    assert (t2.user, t2.port) == ("ops", 2022)
    other = resolve("elsewhere", load_config(cfg))
    assert (other.hostname, other.user, other.proxy_jump) == ("elsewhere", "fallback", ())


def test_missing_config_is_empty(tmp_path: Path) -> None:
    t = resolve("host.example:2200", load_config(tmp_path / "nope"))
    assert (t.hostname, t.port) == ("host.example", 2200)


def test_known_hosts_patterns(tmp_path: Path) -> None:
    key = paramiko.RSAKey.generate(1024)
    line = f"{key.get_name()} {key.get_base64()}"
    kh = tmp_path / "kh"
    kh.write_text(
        "# comment\n\n"
        f"*.example.org,!bad.example.org {line}\n"
        f"[10.0.0.1]:2222 {line}\n"
        f"@revoked revoked.example.org {line}\n"
        f"@cert-authority *.ca.org {line}\n"
    )
    names = {
        "good.example.org": [3],
        "bad.example.org": [],
        "[10.0.0.1]:2222": [4],
        "10.0.0.1": [],
        "revoked.example.org": [3, 5],
        "x.ca.org": [],
    }
    for name, lines in names.items():
        assert [k.line for k in hostkeys.known_keys((kh,), name)] == lines, name
    with pytest.raises(hostkeys.HostKeyError, match="@revoked"):
        hostkeys.verify(
            key, hostname="revoked.example.org", port=22, alias=None, files=(kh,), where="x"
        )
    hostkeys.verify(key, hostname="10.0.0.1", port=2222, alias=None, files=(kh,), where="x")
    # HostKeyAlias replaces the name looked up.
    hostkeys.verify(
        key, hostname="1.2.3.4", port=22, alias="good.example.org", files=(kh,), where="x"
    )


def test_known_types_are_preferred(tmp_path: Path) -> None:
    key = paramiko.RSAKey.generate(1024)
    kh = tmp_path / "kh"
    kh.write_text(f"h {key.get_name()} {key.get_base64()}\n")
    supported = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")
    got = hostkeys.preferred_algorithms(hostkeys.known_keys((kh,), "h"), supported)
    assert got == ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256")
