"""A real HTTP server on 127.0.0.1 and a free port, in a thread, for the `http` step's tests:
`/health` answers 503 until it has been asked `ready_after` times, then 200 with a JSON body;
every request's path and Authorization header are kept."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Health:
    port: int = 0
    ready_after: int = 3
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(method, path, Authorization) of every request."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def health_server(ready_after: int = 3) -> Iterator[Health]:
    state = Health(ready_after=ready_after)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append(("GET", self.path, self.headers.get("Authorization")))
            asked = sum(1 for s in state.seen if s[1] == "/health")
            ready = asked >= state.ready_after
            body = b'{"status": "green"}\n' if ready else b'{"status": "red"}\n'
            self.send_response(200 if ready else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
