"""supervisord's XML-RPC interface over httpx: one keep-alive client per endpoint.

Every failure becomes a `SupervisorError(kind, message)` that says what went wrong and where:
``unauthorized`` (HTTP 401), ``unreachable`` (connection refused, DNS failure, SSH link down),
``timeout``, ``fault`` (an XML-RPC fault, ``fault`` holds its name such as BAD_NAME) and
``protocol`` (anything else the server answered that is not XML-RPC).
"""

from __future__ import annotations

import base64
import xmlrpc.client
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx
from supervisor.xmlrpc import Faults

from annotui.status import xmlrpc_answer
from annotui.status.http import AsyncioBackend, PoolTransport
from annotui.status.via import TcpOpener, ViaBackend

if TYPE_CHECKING:
    from annotui.checklist.models import Supervisor
    from annotui.transport.pool import TransportPool

ErrorKind = Literal["unauthorized", "unreachable", "timeout", "fault", "protocol"]

FAULT_NAMES: dict[int, str] = {
    code: name for name, code in vars(Faults).items() if not name.startswith("_")
}

RUNNING_STATES = frozenset({"RUNNING"})
STOPPED_STATES = frozenset({"STOPPED", "EXITED", "FATAL"})
"""States in which a process is not running (FATAL: it could not be started)."""

OVERVIEW = xmlrpc.client.dumps(
    (
        [
            {"methodName": "supervisor.getState", "params": []},
            {"methodName": "supervisor.getAllProcessInfo", "params": []},
        ],
    ),
    "system.multicall",
).encode()
"""The request of every status poll (the same bytes each time, so encoded once)."""


class SupervisorError(Exception):
    """A supervisord call failed; `kind` is machine-readable, the message names the endpoint."""

    def __init__(self, kind: ErrorKind, message: str, fault: str | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.fault = fault
        """The XML-RPC fault name (BAD_NAME, NOT_RUNNING, ...) when kind == 'fault'."""


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    name: str
    group: str
    state: str
    """supervisord state name: RUNNING, STOPPED, STARTING, BACKOFF, STOPPING, EXITED, FATAL."""
    description: str
    pid: int
    start: int
    now: int
    exitstatus: int
    spawnerr: str

    @property
    def full_name(self) -> str:
        return f"{self.group}:{self.name}"

    @classmethod
    def from_rpc(cls, d: Mapping[str, Any]) -> ProcessInfo:
        return cls(
            name=str(d.get("name", "")),
            group=str(d.get("group", "")),
            state=str(d.get("statename", "UNKNOWN")),
            description=str(d.get("description", "")),
            pid=int(d.get("pid", 0)),
            start=int(d.get("start", 0)),
            now=int(d.get("now", 0)),
            exitstatus=int(d.get("exitstatus", 0)),
            spawnerr=str(d.get("spawnerr", "")),
        )


def matches(process: str, info: ProcessInfo) -> bool:
    """Whether a spec (`group:*`, `group:name`, or the `name` of a same-named group) names it."""
    if process.endswith(":*"):
        return info.group == process[:-2]
    if ":" in process:
        return info.full_name == process
    return info.name == process and info.group == process


class SupervisorClient:
    """Async client for one supervisord endpoint (`url` without the /RPC2 suffix)."""

    def __init__(
        self,
        name: str,
        url: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        via: TcpOpener | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        parts = urlsplit(self.url)
        self.where = parts.netloc.rpartition("@")[2] or self.url
        """host:port for messages (never the credentials)."""
        self.timeout = timeout
        self.via = via
        self._rpc = httpx.URL(self.url + "/RPC2")
        self._headers = httpx.Headers({"Content-Type": "text/xml"})
        user, secret = (  # as httpx did: else the credentials in the URL, if any
            (username, password or "") if username else (self._rpc.username, self._rpc.password)
        )
        if user or secret:
            token = base64.b64encode(f"{user}:{secret}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._transport = PoolTransport(AsyncioBackend() if via is None else ViaBackend(via))
        """The endpoint's keep-alive connections, used without an httpx.AsyncClient on top:
        its per-request work (merging URLs and headers, auth flow, cookie jar, redirects) is
        about a fifth of a call's CPU, and none of it applies to one fixed XML-RPC endpoint."""

    def _label(self) -> str:
        through = f" via {getattr(self.via, 'name', 'ssh')}" if self.via is not None else ""
        return f"supervisor {self.name} ({self.where}{through})"

    async def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        """Call `supervisor.<method>` (or a fully qualified method) and return its result."""
        full = method if "." in method else f"supervisor.{method}"
        body = xmlrpc.client.dumps(params, full, allow_none=False).encode()
        return await self._call(full, body, timeout)

    async def _post(self, body: bytes, timeout: float | None) -> httpx.Response:
        """POST `body` to /RPC2 and read the whole answer."""
        extensions = {"timeout": httpx.Timeout(timeout).as_dict()} if timeout else self._extensions
        request = httpx.Request(
            "POST", self._rpc, headers=self._headers, content=body, extensions=extensions
        )
        resp = await self._transport.handle_async_request(request)
        try:
            await resp.aread()
        finally:
            await resp.aclose()
        return resp

    async def _call(self, full: str, body: bytes, timeout: float | None) -> Any:
        label = self._label()
        try:
            resp = await self._post(body, timeout)
        except httpx.TimeoutException as e:
            raise SupervisorError(
                "timeout", f"{label}: no answer to {full} within {timeout or self.timeout:g} s"
            ) from e
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, OSError) as e:
            raise SupervisorError("unreachable", f"{label}: unreachable: {_reason(e)}") from e
        except httpx.HTTPError as e:
            raise SupervisorError("protocol", f"{label}: {type(e).__name__}: {e}") from e
        if resp.status_code == 401:
            raise SupervisorError(
                "unauthorized", f"{label}: unauthorized (HTTP 401): check the username/password"
            )
        if resp.status_code != 200:
            raise SupervisorError(
                "protocol", f"{label}: HTTP {resp.status_code} {resp.reason_phrase} from {full}"
            )
        try:
            result = xmlrpc_answer.loads(resp.content)
        except xmlrpc.client.Fault as f:
            fault = FAULT_NAMES.get(f.faultCode, f"FAULT_{f.faultCode}")
            detail = f.faultString.partition(":")[2].strip() or f.faultString
            raise SupervisorError(
                "fault", f"{label}: {full} failed: {fault} ({detail})", fault=fault
            ) from f
        except Exception as e:  # expat errors, wrong shape: the answer is not XML-RPC
            raise SupervisorError(
                "protocol", f"{label}: {full}: not an XML-RPC answer ({type(e).__name__})"
            ) from e
        return result

    async def get_state(self) -> str:
        """supervisord's own state name (RUNNING, SHUTDOWN, ...)."""
        result = await self.call("getState")
        return str(result.get("statename", "UNKNOWN"))

    async def get_overview(self) -> tuple[str, list[ProcessInfo]]:
        """supervisord's state and every process's info in one round trip (system.multicall)."""
        results = await self._call("system.multicall", OVERVIEW, None)
        for r in results:
            if isinstance(r, dict) and "faultCode" in r:
                fault = FAULT_NAMES.get(r["faultCode"], f"FAULT_{r['faultCode']}")
                raise SupervisorError(
                    "fault", f"{self._label()}: {fault} ({r.get('faultString')})", fault=fault
                )
        try:
            state, infos = results  # supervisord answers unwrapped values (not [value])
            return str(state.get("statename", "UNKNOWN")), [ProcessInfo.from_rpc(d) for d in infos]
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            raise SupervisorError(
                "protocol", f"{self._label()}: unexpected system.multicall answer"
            ) from e

    async def get_all_process_info(self) -> list[ProcessInfo]:
        return [ProcessInfo.from_rpc(d) for d in await self.call("getAllProcessInfo")]

    async def get_process_info(self, name: str) -> ProcessInfo:
        return ProcessInfo.from_rpc(await self.call("getProcessInfo", name))

    async def stop_process(
        self, name: str, wait: bool = True, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """Stop a process or a whole `group:*`; group results list each member's status."""
        return await self._act("stop", name, wait, timeout)

    async def start_process(
        self, name: str, wait: bool = True, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """Start a process or a whole `group:*`; group results list each member's status."""
        return await self._act("start", name, wait, timeout)

    async def _act(
        self, verb: str, name: str, wait: bool, timeout: float | None
    ) -> list[dict[str, Any]]:
        if name.endswith(":*"):
            results = await self.call(f"{verb}ProcessGroup", name[:-2], wait, timeout=timeout)
            return [dict(r) for r in results]
        await self.call(f"{verb}Process", name, wait, timeout=timeout)
        return [{"name": name, "status": Faults.SUCCESS, "description": "OK"}]

    async def signal_process(self, name: str, signal: str) -> list[dict[str, Any]]:
        """Send a signal (``HUP``) to a process or every process of a `group:*`
        (``supervisor.signalProcess``, ``signalProcessGroup``)."""
        if name.endswith(":*"):
            return [dict(r) for r in await self.call("signalProcessGroup", name[:-2], signal)]
        await self.call("signalProcess", name, signal)
        return [{"name": name, "status": Faults.SUCCESS, "description": "OK"}]

    async def tail_stdout(self, name: str, length: int = 4096) -> str:
        """The last `length` bytes of a process's stdout log."""
        text, _offset, _overflow = await self.call("tailProcessStdoutLog", name, 0, length)
        return str(text)

    async def read_stdout(self, name: str, offset: int, length: int) -> str:
        return str(await self.call("readProcessStdoutLog", name, offset, length))

    async def aclose(self) -> None:
        await self._transport.aclose()


def _reason(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    if "Name or service not known" in text or "nodename nor servname" in text:
        return f"DNS lookup failed ({text})"
    if "Connection refused" in text or "Errno 111" in text or "All connection attempts" in text:
        return "connection refused"
    return text


def group_failures(results: list[dict[str, Any]]) -> list[str]:
    """Members of a group action that did not succeed, as 'name: FAULT (description)'."""
    out = []
    for r in results:
        status = int(r.get("status", Faults.SUCCESS))
        if status != Faults.SUCCESS:
            fault = FAULT_NAMES.get(status, str(status))
            out.append(
                f"{r.get('group', '')}:{r.get('name', '')}: {fault} ({r.get('description')})"
            )
    return out


class SupervisorPool:
    """One `SupervisorClient` per checklist supervisor (rendered settings), created on first use."""

    def __init__(self, supervisors: Mapping[str, Supervisor], transports: TransportPool) -> None:
        self.settings = dict(supervisors)
        self.transports = transports
        self._clients: dict[str, SupervisorClient] = {}

    def names(self) -> list[str]:
        return list(self.settings)

    def get(self, name: str) -> SupervisorClient:
        if name not in self._clients:
            s = self.settings[name]
            via = self.transports.get(s.via) if s.via else None
            self._clients[name] = SupervisorClient(
                name,
                s.url,
                username=s.username,
                password=s.password,
                timeout=s.timeout,
                via=via,  # type: ignore[arg-type]
            )
        return self._clients[name]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
