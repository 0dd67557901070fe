"""annotui.status.xmlrpc_answer reads every answer as xmlrpc.client.loads does: real
supervisord answers (the status poll's multicall, process infos, a log tail, a fault) and
values of every XML-RPC type, with the same faults and errors for what it hands over."""

from __future__ import annotations

import datetime
import xml.parsers.expat
import xmlrpc.client
from typing import Any

import httpx
import pytest
from supervisord_fixture import Supervisord

from annotui.status import xmlrpc_answer
from annotui.status.supervisor import OVERVIEW


def _reference(data: bytes) -> Any:
    (result,), _ = xmlrpc.client.loads(data, use_builtin_types=True)
    return result


def _post(sv: Supervisord, body: bytes) -> bytes:
    auth = (sv.username, sv.password)
    answer = httpx.post(f"{sv.url}/RPC2", content=body, auth=auth, timeout=10)
    answer.raise_for_status()
    return answer.content


def test_real_supervisord_answers_read_alike(supervisord: Supervisord) -> None:
    bodies = [
        OVERVIEW,
        xmlrpc.client.dumps((), "supervisor.getAllProcessInfo").encode(),
        xmlrpc.client.dumps((), "supervisor.getState").encode(),
        xmlrpc.client.dumps((), "system.listMethods").encode(),
    ]
    for body in bodies:
        data = _post(supervisord, body)
        assert xmlrpc_answer.loads(data) == _reference(data)
    fault = _post(supervisord, xmlrpc.client.dumps(("nosuch",), "supervisor.stopProcess").encode())
    with pytest.raises(xmlrpc.client.Fault) as ours:
        xmlrpc_answer.loads(fault)
    with pytest.raises(xmlrpc.client.Fault) as theirs:
        _reference(fault)
    assert (ours.value.faultCode, ours.value.faultString) == (
        theirs.value.faultCode,
        theirs.value.faultString,
    )


VALUES: list[Any] = [
    "plain",
    "",
    "a & b <c> \"d\" 'e' é ☃ \t tabs\nlines",
    0,
    -(2**31),
    2**31 - 1,
    True,
    False,
    1.5,
    -0.0,
    [],
    {},
    [1, "two", [3, {"four": 4}], {"": ""}],
    {"statename": "RUNNING", "nested": {"list": [True, 2.5, "x"]}, "a&b": "<>"},
    None,
    datetime.datetime(2026, 12, 3, 18, 0, 0),
    b"\x00\xffbytes",
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_every_value_type_reads_alike(value: Any) -> None:
    data = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()
    assert xmlrpc_answer.loads(data) == _reference(data)
    assert type(xmlrpc_answer.loads(data)) is type(_reference(data))


@pytest.mark.parametrize(
    "data",
    [
        b"<?xml version='1.0'?><methodResponse><params><param><value>"
        b"untyped  text </value></param></params></methodResponse>",
        b"<methodResponse><params><param><value><i8>12345678901</i8></value>"
        b"</param></params></methodResponse>",
        b"<methodResponse><params><param><value><boolean>2</boolean></value>"
        b"</param></params></methodResponse>",
        b"<methodResponse><params><param><value><int>x</int></value>"
        b"</param></params></methodResponse>",
        b"<methodResponse><params><param><value><string>a</string></value></param>"
        b"<param><value><string>b</string></value></param></params></methodResponse>",
        b"<methodResponse><params></params></methodResponse>",
        b"<methodResponse><params><param><value><nosuch>1</nosuch></value>"
        b"</param></params></methodResponse>",
        b"<methodResponse><params><param><value><string>cut",
        b"not xml at all",
    ],
)
def test_odd_answers_read_or_fail_alike(data: bytes) -> None:
    try:
        expected: Any = _reference(data)
    except (ValueError, TypeError, xml.parsers.expat.ExpatError, xmlrpc.client.Error) as e:
        with pytest.raises(type(e)):
            xmlrpc_answer.loads(data)
    else:
        assert xmlrpc_answer.loads(data) == expected
