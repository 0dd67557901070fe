from __future__ import annotations

import sys
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supervisord_fixture import Supervisord, running_supervisord

from annotui.sandbox_files.supervisord import rpc_url


@pytest.fixture(scope="module")
def shared_supervisord(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisord]:
    """One real supervisord per test module (starting and stopping one costs about a second)."""
    with running_supervisord(tmp_path_factory.mktemp("supervisor")) as sv:
        yield sv


@pytest.fixture
def supervisord(shared_supervisord: Supervisord) -> Supervisord:
    """The module's supervisord with every program RUNNING at the start of the test."""
    sv = shared_supervisord
    proxy = xmlrpc.client.ServerProxy(rpc_url(sv.port, sv.username, sv.password))
    proxy.supervisor.startAllProcesses(True)
    assert {p["statename"] for p in proxy.supervisor.getAllProcessInfo()} == {"RUNNING"}
    return sv


@pytest.fixture
def own_supervisord(tmp_path: Path) -> Iterator[Supervisord]:
    """A supervisord for this test alone (it may be stopped and restarted)."""
    with running_supervisord(tmp_path / "supervisor") as sv:
        yield sv
