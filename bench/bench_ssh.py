"""SSH transport benchmarks against a real sshd on 127.0.0.1 (started and stopped here).

(a) 20 remote `true` over one reused SshTransport (connection set-up included) vs 20
    `ssh -F config tsd true` (OpenSSH client, no ControlMaster). Target >= 5x.
(b) `seq 1000000` streamed through the engine's real output path (SshTransport ->
    OutputCollector -> fsync'd AuditWriter) vs paramiko alone reading the same output
    (exec_command + recv until EOF). Target >= 0.5x of paramiko's rate; peak RSS growth reported.
    Both sides use paramiko's defaults: same cipher and MAC, channel window 2 MiB, packets
    32 KiB (larger windows and packets made no difference: sshd sends at most 32 KiB per packet).
    Every line is checked in the stored log after the timings.
    Caveat: the baseline's three runs come first, in a phase of their own (no SshTransport open);
    annotui's alternate null/audit. Measured strictly interleaved instead (baseline, null, audit in
    turn, one process), the baseline is faster on this shared 2-core VM and the ratio lower:
    0.44-0.46x best to best, 0.34-0.81x run by run (2026-11-22), against 0.27-0.47x before the
    changes of that day. Compare both ways before trusting a margin.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paramiko

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rows import row
from sshd_fixture import Sshd, running_sshd

from annotui.audit.reader import output_lines, read_records
from annotui.audit.writer import AuditWriter
from annotui.engine.output import OutputCollector
from annotui.engine.redact import Redactor
from annotui.events import SessionStarted
from annotui.transport.base import Stream
from annotui.transport.ssh import SshTransport

LINES = 1_000_000


def _audit(path: Path) -> AuditWriter:
    w = AuditWriter.create(path)
    w(
        SessionStarted(
            "bench.toml", "0" * 64, "bench", "bench", "1", "bench", None, "localhost", "0", "live"
        )
    )
    return w


def _twenty_true(d: Sshd) -> dict[str, object]:
    async def annotui() -> float:
        start = time.perf_counter()
        t = SshTransport("tsd", "tsd", config_path=d.ssh_config)
        for _ in range(20):
            r = await t.run("true", on_line=lambda s, line: None)
            assert r.exit_code == 0
        await t.close()
        return time.perf_counter() - start

    ours = asyncio.run(annotui())
    start = time.perf_counter()
    for _ in range(20):
        subprocess.run(
            [
                "ssh",
                "-F",
                str(d.ssh_config),
                "-o",
                "ControlMaster=no",
                "-o",
                "ControlPath=none",
                "tsd",
                "true",
            ],
            check=True,
        )
    theirs = time.perf_counter() - start
    ratio = theirs / ours
    return row(
        name="20 remote `true` (one reused connection vs 20 ssh calls)",
        annotui=ours,
        baseline=theirs,
        unit="s",
        ratio=ratio,
        target=">= 5x",
        ok=ratio >= 5,
        note="connection set-up included on both sides",
    )


def _paramiko_rate(d: Sshd) -> float:
    client = paramiko.SSHClient()
    client.load_host_keys(str(d.known_hosts))
    client.connect(
        "127.0.0.1",
        port=d.port,
        username=d.user,
        key_filename=str(d.client_key),
        look_for_keys=False,
        allow_agent=False,
    )
    best = 0.0
    try:
        for _ in range(3):
            start = time.perf_counter()
            _, out, _ = client.exec_command(f"seq {LINES}")
            n = 0
            while data := out.channel.recv(1 << 18):
                n += data.count(b"\n")
            out.channel.recv_exit_status()
            assert n == LINES
            best = max(best, LINES / (time.perf_counter() - start))
    finally:
        client.close()
    return best


def _stream_rates(d: Sshd, tmp: Path) -> dict[str, float]:
    """Best lines/s of `seq 1000000` into a null sink and through the engine's real output path
    (OutputCollector with a secret to redact -> fsync'd AuditWriter); RSS growth (MB) over the
    1M-line streams and then over one 3M-line stream."""

    class Null:
        def __call__(self, stream: Stream, line: str) -> None: ...
        def text(self, stream: Stream, text: str) -> None: ...

    async def through_engine(t: SshTransport, path: Path, n: int) -> float:
        with _audit(path) as w:
            col = OutputCollector("bench/seq", w, Redactor(["not-in-output"]), keep_stdout=False)
            start = time.perf_counter()
            r = await t.run(f"seq {n}", on_line=col)
            col.flush()
            elapsed = time.perf_counter() - start
        assert r.exit_code == 0, r
        return n / elapsed

    def stored_lines(path: Path) -> int:
        return sum(len(output_lines(rec)) for rec in read_records(path) if "text" in rec)

    async def go() -> dict[str, float]:
        t = SshTransport("tsd", "tsd", config_path=d.ssh_config)
        await t.run("true", on_line=lambda s, line: None)  # connect outside the timing
        out: dict[str, float] = {"null": 0.0, "audit": 0.0}
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for i in range(3):
            start = time.perf_counter()
            await t.run(f"seq {LINES}", on_line=Null())
            out["null"] = max(out["null"], LINES / (time.perf_counter() - start))
            rate = await through_engine(t, tmp / f"audit-{i}.jsonl", LINES)
            out["audit"] = max(out["audit"], rate)
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        await through_engine(t, tmp / "audit-3m.jsonl", 3 * LINES)
        rss2 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        await t.close()
        # every line stored, checked after the RSS readings (parsing the logs takes memory too)
        for i in range(3):
            assert stored_lines(tmp / f"audit-{i}.jsonl") == LINES
        assert stored_lines(tmp / "audit-3m.jsonl") == 3 * LINES
        out["rss_1m"], out["rss_3m"] = (rss1 - rss0) / 1024, (rss2 - rss1) / 1024
        return out

    return asyncio.run(go())


def run() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp, running_sshd(Path(tmp) / "sshd") as d:
        rows = [_twenty_true(d)]
        base = _paramiko_rate(d)
        r = _stream_rates(d, Path(tmp))
    size_3m = len("".join(f"{i}\n" for i in range(1, 3 * LINES + 1))) / 1e6
    audit, null = r["audit"] / base, r["null"] / base
    rows += [
        row(
            name="1M lines streamed and stored in the audit log vs paramiko alone",
            annotui=r["audit"],
            baseline=base,
            unit="lines/s",
            ratio=audit,
            target=">= 0.5x",
            ok=audit >= 0.5,
            note="SshTransport -> OutputCollector (redaction) -> AuditWriter (sha256 chain, fsync "
            "per record); paramiko's default cipher, window and packet size on both sides",
        ),
        row(
            name="1M lines through SshTransport into a null sink vs paramiko alone",
            annotui=r["null"],
            baseline=base,
            unit="lines/s",
            ratio=null,
            target="info",
            ok=True,
            note="the transport's own cost: packets handed from paramiko's thread to the loop, "
            "line framing, window updates",
        ),
        row(
            name="peak RSS growth during a 3M-line stream (after 1M-line ones)",
            annotui=r["rss_3m"],
            baseline=size_3m,
            unit="MB",
            ratio=size_3m / max(r["rss_3m"], 0.1),
            target="< 1/4 of output",
            ok=r["rss_3m"] < size_3m / 4,
            note=f"ru_maxrss; the first 1M-line streams grew it by {r['rss_1m']:.1f} MB",
        ),
    ]
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
