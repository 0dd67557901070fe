"""One transport per host for the whole run, created on first use and closed at the end."""

from __future__ import annotations

import time
from typing import Any

from annotui.transport.base import HostState, Transport
from annotui.transport.local import LocalTransport

__all__ = ["HostState", "TransportPool"]


class TransportPool:
    """Maps checklist host ids to transports. `targets` maps host id -> rendered `ssh` value."""

    def __init__(
        self, targets: dict[str, str], *, ssh_options: dict[str, Any] | None = None
    ) -> None:
        """`ssh_options` are passed to every SshTransport (e.g. `passphrase_prompt`)."""
        self.targets = {"local": "local", **targets}
        self.ssh_options = ssh_options or {}
        self._transports: dict[str, Transport] = {}

    def get(self, host: str) -> Transport:
        if host not in self._transports:
            target = self.targets[host]
            if target == "local":
                self._transports[host] = LocalTransport(host)
            else:
                from annotui.transport.ssh import SshTransport

                self._transports[host] = SshTransport(host, target, **self.ssh_options)
        return self._transports[host]

    def states(self) -> dict[str, HostState]:
        """Connection state per host, for the status display."""
        out: dict[str, HostState] = {}
        for host, target in self.targets.items():
            t = self._transports.get(host)
            if target == "local":
                out[host] = HostState("connected", "local", time.time())
            elif t is None:
                out[host] = HostState("idle", target)
            else:
                out[host] = getattr(t, "state", HostState("connected", host, time.time()))
        return out

    async def close(self) -> None:
        for t in self._transports.values():
            await t.close()
        self._transports.clear()
