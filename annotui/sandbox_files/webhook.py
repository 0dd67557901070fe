"""The sandbox's webhook receiver: `python -m annotui.sandbox_files.webhook PORT FILE` listens on
127.0.0.1:PORT and appends every POST as one JSON line (``path``, ``body``) to FILE, so that a
rehearsal against the sandbox shows its `[[notify]]` notifications arriving (run by the
sandbox's supervisord as the program ``notify-receiver``)."""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY = 1 << 20
"""Bytes of one notification kept (Apprise's messages are small)."""


def serve(port: int, out: Path) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            raw = self.rfile.read(size)
            try:
                body: object = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"path": self.path, "body": body}) + "\n")
            print(f"notification: {self.path}", flush=True)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
