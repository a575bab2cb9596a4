"""ModelScope and Hugging Face hubs on loopback: the real modelscope_hub and huggingface_hub clients (through
MODELSCOPE_ENDPOINT and HF_ENDPOINT) list and download from them with each hub's own file API, so downloads are
tested without the network and without faking the clients.

ModelScope:
    GET /api/v1/models/<owner>/<name>/repo/files?Revision=..&Recursive=..    {"Code": 200, "Data": {"Files": [...]}}
    GET /api/v1/models/<owner>/<name>/repo?Revision=..&FilePath=<path>       the file, honouring Range (206)
Hugging Face (no Xet headers, so the client takes plain HTTP):
    GET /api/models/<owner>/<name>/revision/<rev>?blobs=true                 {"sha": commit, "siblings": [...]}
    GET /api/models/<owner>/<name>/tree/<commit>?recursive=true              [{"type": "file", "path", "size", "oid", "lfs"}]
    HEAD, GET /<owner>/<name>/resolve/<commit>/<path>                        X-Repo-Commit, ETag; Range (206)
"""

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

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
    lfs: set[str] = field(default_factory=lambda: {"model.safetensors"})
    """Hugging Face: files kept in LFS (listed with their sha256); the others are listed by their git blob id."""
    commit: str = "c0ffee" * 6 + "c0fe"

    def add(self, model_id: str, files: dict[str, bytes]) -> None:
        self.models[model_id] = files

    def listing(self, model_id: str) -> list[dict]:
        return [
            {"Name": path.rsplit("/", 1)[-1], "Path": path, "Type": "blob", "Size": len(body),
             "Sha256": self.listed_sha256.get(path, hashlib.sha256(body).hexdigest()), "Revision": "c0ffee", "CommittedDate": 1764000000}
            for path, body in self.models[model_id].items()
        ]


def git_blob_id(body: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: LoopbackHub

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

    def _file(self, model_id: str, path: str, headers: dict | None = None) -> None:
        """The file, from the Range start; a file to stall gets half its body, then the connection hangs."""
        hub = self.hub
        body = hub.models[model_id][path]
        ranged = self.headers.get("Range")
        start = int(ranged.split("=")[1].split("-")[0]) if ranged else 0
        self.send_response(206 if ranged else 200)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if ranged:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.command == "HEAD":
            return
        hub.requests.append((path, ranged))
        if path in hub.stall and not ranged:
            hub.stall.discard(path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            hub.stalled.set()
            hub.release.wait(120)
            self.close_connection = True
            return
        self.wfile.write(body[start:])


def _modelscope_handler(hub: LoopbackHub):
    class Handler(_Handler):
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

    Handler.hub = hub
    return Handler


def _huggingface_handler(hub: LoopbackHub):
    class Handler(_Handler):
        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            parts = unquote(urlparse(self.path).path).strip("/").split("/")
            api = parts[:2] == ["api", "models"]
            model_id = "/".join(parts[2:4] if api else parts[:2])
            if model_id not in hub.models:
                return self._send(404, json.dumps({"error": "Repository not found"}).encode(), {"Content-Type": "application/json", "X-Error-Code": "RepoNotFound"})
            files = hub.models[model_id]
            if api and parts[4:5] == ["revision"]:
                siblings = [{"rfilename": p, "size": len(b), "blobId": git_blob_id(b), **({"lfs": self._lfs(p, b)} if p in hub.lfs else {})} for p, b in files.items()]
                return self._send(200, json.dumps({"id": model_id, "sha": hub.commit, "siblings": siblings}).encode(), {"Content-Type": "application/json"})
            if api and parts[4:5] == ["tree"]:
                tree = [{"type": "file", "path": p, "size": len(b), "oid": git_blob_id(b), **({"lfs": self._lfs(p, b)} if p in hub.lfs else {})} for p, b in files.items()]
                return self._send(200, json.dumps(tree).encode(), {"Content-Type": "application/json"})
            if not api and parts[2:3] == ["resolve"]:
                path = "/".join(parts[4:])
                body = files[path]
                etag = hub.listed_sha256.get(path) or (hashlib.sha256(body).hexdigest() if path in hub.lfs else git_blob_id(body))
                return self._file(model_id, path, {"X-Repo-Commit": hub.commit, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"})
            return self._send(404, b"{}")

        def _lfs(self, path: str, body: bytes) -> dict:
            return {"sha256": hub.listed_sha256.get(path, hashlib.sha256(body).hexdigest()), "oid": hashlib.sha256(body).hexdigest(), "size": len(body), "pointerSize": 130}

    Handler.hub = hub
    return Handler


def _serve(handler: Callable[[LoopbackHub], type], env: str, monkeypatch):
    hub = LoopbackHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(hub))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(env, hub.url)
    yield hub
    hub.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def modelscope_hub(monkeypatch):
    """The loopback ModelScope, with MODELSCOPE_ENDPOINT pointing at it for this process and its subprocesses."""
    monkeypatch.delenv("MODELSCOPE_DOMAIN", raising=False)
    yield from _serve(_modelscope_handler, "MODELSCOPE_ENDPOINT", monkeypatch)


@pytest.fixture
def huggingface_hub_server(monkeypatch):
    """The loopback Hugging Face, with HF_ENDPOINT pointing at it for this process and its subprocesses."""
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    yield from _serve(_huggingface_handler, "HF_ENDPOINT", monkeypatch)
