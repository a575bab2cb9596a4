"""`domaintune download` against a ModelScope hub on loopback (tests/pipelines/core/conftest.py), with the real
modelscope_hub client and the real CLI in a subprocess where signals are involved: whole or absent, resumed after an
interruption, checked against the hub's checksums, ids checked before they become paths (issues 20 and 25)."""

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli.main import cli
from pipelines.core.download import (
    RECORD_FILE,
    check_model_id,
    download,
    local_copy,
    partial_of,
)
from pipelines.core.errors import DomaintuneError
from pipelines.core.hubs import Listing, RemoteFile, checksum_problem
from pipelines.core.paths import WORKSPACE_ENV, models_dir, workspace

from .conftest import git_blob_id

pytestmark = pytest.mark.slow(27)  # seconds of a quiet 2-core machine: started first under xdist

DOMAINTUNE = str(Path(sys.executable).with_name("domaintune"))
MODEL = "Qwen/Loopback-Model"
WEIGHTS = bytes(range(256)) * 8192  # 2 MiB
FILES = {"config.json": b'{"model_type": "qwen2"}', "model.safetensors": WEIGHTS}


@pytest.fixture
def hub(modelscope_hub, tmp_path, monkeypatch):
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "workspace"))
    modelscope_hub.add(MODEL, dict(FILES))
    return modelscope_hub


def start_download(*extra: str) -> subprocess.Popen:
    return subprocess.Popen([DOMAINTUNE, "download", "--model", MODEL, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupted(hub, signum: int) -> tuple[int, str]:
    """A download stopped by `signum` while the weights are half sent; its exit code and last stderr line."""
    hub.stall.add("model.safetensors")
    process = start_download()
    assert hub.stalled.wait(60), process.communicate()
    incomplete = partial_of(local_copy(MODEL)) / "model.safetensors.incomplete"
    deadline = time.monotonic() + 60
    while not (incomplete.is_file() and incomplete.stat().st_size == len(WEIGHTS) // 2) and time.monotonic() < deadline:
        time.sleep(0.05)  # the client writes what it received; the signal comes once the half sent is on disk
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    # The client's own per-file bars end with cursor moves (ESC[A) on the same line as the message.
    return process.returncode, re.split(r"\x1b\[A|\r", err.strip().splitlines()[-1])[-1] if err.strip() else ""


def weights_asked(hub, since: int) -> list[str | None]:
    """The Range header of each request for the weights after the first `since` requests (a download fetches its
    files in parallel, so the weights are not always the last file asked for)."""
    return [ranged for path, ranged in hub.requests[since:] if path == "model.safetensors"]


def test_a_download_is_whole_and_records_what_the_hub_listed(hub):
    target = download(MODEL)
    assert target == models_dir() / MODEL
    assert {p.name: p.read_bytes() for p in target.iterdir() if p.name != RECORD_FILE} == FILES
    record = json.loads((target / RECORD_FILE).read_text())
    assert record["hub"] == "modelscope" and record["revision"] == "master"
    assert record["files"] == {path: hashlib.sha256(body).hexdigest() for path, body in FILES.items()}
    listing = Listing("modelscope", MODEL, "master", None, tuple(RemoteFile(p, len(b), hashlib.sha256(b).hexdigest()) for p, b in FILES.items()))
    assert record["files_sha256"] == listing.files_digest()
    assert [p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")] == [target.name]


def test_ctrl_c_keeps_the_partial_download_and_the_next_one_resumes_it(hub):
    code, line = interrupted(hub, signal.SIGINT)
    assert code == 130, line
    assert "kept in" in line and "the same command resumes it" in line
    target = local_copy(MODEL)
    assert not target.exists()
    assert (partial_of(target) / "model.safetensors.incomplete").stat().st_size == len(WEIGHTS) // 2

    asked_before = len(hub.requests)
    result = subprocess.run([DOMAINTUNE, "download", "--model", MODEL], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert not partial_of(target).exists()
    # The second download asked only for the half it did not have (its files are fetched in parallel, in any order).
    assert weights_asked(hub, asked_before) == [f"bytes={len(WEIGHTS) // 2}-"]


def test_sigterm_removes_the_partial_download(hub):
    # Issue 20: the `.partial-*` folder used to stay after SIGTERM.
    code, line = interrupted(hub, signal.SIGTERM)
    assert code == 143 and line == f"Stopped: download of {MODEL}: stopped by SIGTERM"
    assert [p.name for p in local_copy(MODEL).parent.iterdir() if not p.name.endswith(".lock")] == []


def test_leftovers_of_killed_downloads_are_resumed_or_removed_by_the_next(hub):
    # Issue 20: partial folders of dead processes were never cleaned; the old version's names cannot be resumed.
    target = local_copy(MODEL)
    old_version_partial = target.parent / f".{target.name}.partial-x8k2j1"
    old_version_partial.mkdir(parents=True)
    (old_version_partial / "model.safetensors").write_bytes(b"half")
    code, _ = interrupted(hub, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert partial_of(target).is_dir()

    asked_before = len(hub.requests)
    download(MODEL)
    assert sorted(p.name for p in target.parent.iterdir() if not p.name.endswith(".lock")) == [target.name]
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert weights_asked(hub, asked_before) == [f"bytes={len(WEIGHTS) // 2}-"]


def test_a_file_that_does_not_match_the_listed_checksum_is_refused(hub):
    hub.listed_sha256["model.safetensors"] = hashlib.sha256(b"other weights").hexdigest()
    with pytest.raises(DomaintuneError, match=r"ModelScope download of Qwen/Loopback-Model failed \(FileDownloadError") as caught:
        download(MODEL)
    assert "which the same command resumes" in str(caught.value)
    assert not local_copy(MODEL).exists()


def test_a_model_the_hub_does_not_have_is_refused_in_one_line(hub):
    result = CliRunner().invoke(cli, ["download", "--model", "Qwen/No-Such-Model"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: cannot download Qwen/No-Such-Model: ModelScope has no model Qwen/No-Such-Model"
    assert not models_dir().exists()


def test_an_unreachable_hub_is_refused_in_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "workspace"))
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    result = CliRunner().invoke(cli, ["download", "--model", MODEL])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot download {MODEL}: ModelScope (http://127.0.0.1:") and "cannot be reached (ConnectError" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not workspace().exists()


def closed_port() -> int:
    import socket

    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("model_id", "problem"),
    [
        ("../dataset_info", "contains `..`"),
        ("Qwen/../../dataset_info", "contains `..`"),
        ("/etc/models/x", "is an absolute path"),
        ("Qwen", "is not owner/name"),
        ("Qwen/Qwen2.5/extra", "is not owner/name"),
        ("Qwen/.hidden", "has a part that is empty, starts with"),
        ("Qwen/a b", "has a part that is empty, starts with"),
    ],
)
def test_a_model_id_is_checked_before_it_becomes_a_path(model_id, problem, tmp_path, monkeypatch):
    # Issue 20: `download --model ../dataset_info` joined the id under models/ and replaced the workspace's datasets.
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "workspace"))
    with pytest.raises(DomaintuneError, match=f"model id {model_id!r} {problem}".replace(".", r"\.").replace("(", r"\(")):
        check_model_id(model_id)
    result = CliRunner().invoke(cli, ["download", "--model", model_id])
    assert result.exit_code == 1 and result.output.startswith(f"Error: model id {model_id!r} ")
    assert not workspace().exists()


def test_hub_checksums_sha256_and_git_blob_ids(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello\n")
    # `printf 'hello\n' | sha256sum` and `printf 'hello\n' | git hash-object --stdin`
    sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    blob = "ce013625030ba8dba906f756967f9e9ca394464a"
    assert checksum_problem(path, RemoteFile("f", 6, sha256=sha256)) is None
    assert checksum_problem(path, RemoteFile("f", 6, git_sha1=blob)) is None
    assert checksum_problem(path, RemoteFile("f", 6, sha256="0" * 64)) == "does not match the hub's checksum 0000000000000000…"
    assert checksum_problem(path, RemoteFile("f", 7, sha256=sha256)) == "has 6 bytes, the hub lists 7"
    assert checksum_problem(tmp_path / "missing", RemoteFile("missing", 1)) == "is missing"



@pytest.fixture
def hf(huggingface_hub_server, tmp_path, monkeypatch):
    monkeypatch.setenv(WORKSPACE_ENV, str(tmp_path / "workspace"))
    huggingface_hub_server.add(MODEL, dict(FILES))
    return huggingface_hub_server


def test_hugging_face_downloads_are_pinned_to_the_listed_commit_and_checked(hf):
    target = download(MODEL, "huggingface")
    assert {p.name: p.read_bytes() for p in target.iterdir() if p.name != RECORD_FILE} == FILES  # no .cache left
    record = json.loads((target / RECORD_FILE).read_text())
    assert (record["hub"], record["revision"], record["commit"]) == ("huggingface", "main", hf.commit)
    # LFS files by their sha256, the others by git's blob id, as the hub lists them.
    assert record["files"] == {"config.json": git_blob_id(FILES["config.json"]),
                               "model.safetensors": hashlib.sha256(WEIGHTS).hexdigest()}


def test_hugging_face_files_that_do_not_match_the_listed_checksum_are_refused(hf):
    hf.listed_sha256["model.safetensors"] = hashlib.sha256(b"other weights").hexdigest()
    with pytest.raises(DomaintuneError, match=r"Hugging Face download of Qwen/Loopback-Model: model\.safetensors does not match the hub's checksum"):
        download(MODEL, "huggingface")
    assert not local_copy(MODEL).exists()


def test_hugging_face_downloads_keep_complete_files_after_ctrl_c(hf):
    # huggingface_hub 1.x resumes by whole files: an incomplete one is its own temporary file, removed when it stops.
    hf.stall.add("model.safetensors")
    process = start_download("--hub", "huggingface")
    assert hf.stalled.wait(60), process.communicate()
    deadline = time.monotonic() + 60
    while ("config.json", None) not in hf.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # config.json is written and recorded before the signal comes
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert (partial_of(local_copy(MODEL)) / "config.json").read_bytes() == FILES["config.json"]
    result = subprocess.run([DOMAINTUNE, "download", "--model", MODEL, "--hub", "huggingface"], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (local_copy(MODEL) / "model.safetensors").read_bytes() == WEIGHTS
    assert hf.requests.count(("config.json", None)) == 1 and hf.requests.count(("model.safetensors", None)) == 2
