"""Real HTTP on 127.0.0.1 for the stand-ins of network services (OpenAI-compatible endpoints, Amap, a judge):
the real client libraries talk to these over a socket, as they would to the service."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JSONHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def read_json(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self.send_body(status, "application/json", json.dumps(payload, ensure_ascii=False), headers)

    def send_body(self, status: int, content_type: str, text: str, headers: dict | None = None) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class InFlight:
    """How many requests a stand-in is answering at once, and the most at any time (what --concurrency bounds)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.now = self.most = 0

    @contextmanager
    def answering(self) -> Iterator[None]:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            yield
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away: it gave up on a slow answer, or was interrupted
        finally:
            with self._lock:
                self.now -= 1


class Loopback:
    """A threaded server on 127.0.0.1 (`port` 0: any free one), serving from a background thread until close()."""

    def start(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
