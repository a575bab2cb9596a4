"""A ModelScope hub on loopback: the real modelscope_hub client (through MODELSCOPE_ENDPOINT) lists and downloads
from it with the hub's own file API, so downloads are tested without the network and without faking the client.

    GET /api/v1/models/<owner>/<name>/repo/files?Revision=..&Recursive=..    {"Code": 200, "Data": {"Files": [...]}}
    GET /api/v1/models/<owner>/<name>/repo?Revision=..&FilePath=<path>       the file, honouring Range (206)
"""

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest


@dataclass
class LoopbackHub:
    url: str = ""
    models: dict[str, dict[str, bytes]] = field(default_factory=dict)
    listed_sha256: dict[str, str] = field(default_factory=dict)
    """path -> the checksum the listing claims, where it should not be the content's own."""
    stall: set[str] = field(default_factory=set)
    """Files whose next whole-file GET sends half the body and then hangs (until the test ends)."""
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    """(file path, Range header) of every file download."""

    def add(self, model_id: str, files: dict[str, bytes]) -> None:
        self.models[model_id] = files

    def listing(self, model_id: str) -> list[dict]:
        return [
            {"Name": path.rsplit("/", 1)[-1], "Path": path, "Type": "blob", "Size": len(body),
             "Sha256": self.listed_sha256.get(path, hashlib.sha256(body).hexdigest()), "Revision": "c0ffee", "CommittedDate": 1764000000}
            for path, body in self.models[model_id].items()
        ]


def _handler(hub: LoopbackHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, code: int, body: bytes, headers: dict | None = None) -> None:
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self._send(200, b"")

        def do_GET(self):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            parts = url.path.strip("/").split("/")
            model_id = "/".join(parts[3:5]) if len(parts) >= 6 and parts[:3] == ["api", "v1", "models"] else None
            if model_id not in hub.models:
                return self._send(404, json.dumps({"Code": 404, "Success": False, "Message": f"model {model_id} not found"}).encode(), {"Content-Type": "application/json"})
            if parts[5:] == ["repo", "files"]:
                body = json.dumps({"Code": 200, "Success": True, "Data": {"Files": hub.listing(model_id)}}).encode()
                return self._send(200, body, {"Content-Type": "application/json"})
            if parts[5:] == ["repo"] and "FilePath" in query:
                return self._file(model_id, query["FilePath"][0])
            return self._send(404, b"{}")

        def _file(self, model_id: str, path: str) -> None:
            body = hub.models[model_id][path]
            ranged = self.headers.get("Range")
            hub.requests.append((path, ranged))
            start = int(ranged.split("=")[1].split("-")[0]) if ranged else 0
            self.send_response(206 if ranged else 200)
            if ranged:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            if path in hub.stall and not ranged:
                hub.stall.discard(path)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                hub.stalled.set()
                hub.release.wait(120)
                self.close_connection = True
                return
            self.wfile.write(body[start:])

    return Handler


@pytest.fixture
def modelscope_hub(monkeypatch):
    """The loopback hub, with MODELSCOPE_ENDPOINT pointing at it for this process and its subprocesses."""
    hub = LoopbackHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", hub.url)
    monkeypatch.delenv("MODELSCOPE_DOMAIN", raising=False)
    yield hub
    hub.release.set()
    server.shutdown()
    server.server_close()
