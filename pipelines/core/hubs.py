"""The hubs a missing model comes from, through their own clients: ModelScope (the default, reachable from China)
and Hugging Face, as LLaMA-Factory's USE_MODELSCOPE_HUB chooses between them.

Each hub answers two questions: what files a model has at a revision (`listing`: sizes, checksums, the commit), and
fetch them into a folder (`fetch`), skipping the files already complete there. ModelScope's client also resumes a
file left incomplete with an HTTP Range request; Hugging Face's (1.x) fetches such a file again. Their endpoints follow their own variables: MODELSCOPE_ENDPOINT (or the older MODELSCOPE_DOMAIN) and
HF_ENDPOINT (e.g. a mirror).

Offline, the clients differ: ModelScope's retries its file listing with back-off (7 s here with no DNS, 26 s for a
whole snapshot), Hugging Face's fails at once. So every listing starts with one plain HTTP request to the endpoint,
PROBE_TIMEOUT_S at most, through the same proxies (HTTPS_PROXY) the clients use: a hub that does not answer it is
reported unreachable within seconds instead of after the clients' retries.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import DomaintuneError

DEFAULT_HUB = "modelscope"
PROBE_TIMEOUT_S = 5.0
CHUNK = 1 << 20


class HubUnavailable(DomaintuneError):
    """The hub cannot be reached, or will not give the model (no such model, gated, no permission)."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None = None  # what the hub lists for the content (ModelScope: every file; Hugging Face: LFS files)
    git_sha1: str | None = None  # Hugging Face's blob id of a file kept in git itself


@dataclass(frozen=True)
class Listing:
    hub: str
    model_id: str
    revision: str
    commit: str | None  # the commit the revision pointed at, where the hub says (Hugging Face)
    files: tuple[RemoteFile, ...]
    endpoint: str = ""  # where the listing came from; the files are fetched from there too

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def files_digest(self) -> str:
        """One sha256 over every file's path and checksum: the same digest means the same weights, on either hub."""
        lines = sorted(f"{f.path}\0{f.sha256 or f.git_sha1 or f.size}\n" for f in self.files)
        return hashlib.sha256("".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class Hub:
    name: str
    label: str
    endpoint: Callable[[], str]
    list_files: Callable[[str], Listing]
    fetch: Callable[[Listing, Path], None]
    """Downloads the listed files into the folder, resuming what is there, with a bar of bytes and rate."""

    def listing(self, model_id: str) -> Listing:
        """The model's files as the hub lists them, after one probe of its endpoint: an unreachable hub fails in
        seconds here instead of after the client's own retries."""
        probe(self.label, self.endpoint())
        return self.list_files(model_id)


def probe(label: str, endpoint: str) -> None:
    """One request to the hub's endpoint; anything that is not an HTTP answer means the hub is unreachable."""
    import httpx

    try:
        httpx.head(endpoint, timeout=PROBE_TIMEOUT_S, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise HubUnavailable(f"{label} ({endpoint}) cannot be reached ({type(exc).__name__}: {_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    return next(iter(str(exc).strip().splitlines()), type(exc).__name__)[:200]


# ---------------------------------------------------------------------------------------------------------- ModelScope

def _modelscope_endpoint() -> str:
    from modelscope_hub import HubConfig

    return HubConfig().endpoint


def _modelscope_api(endpoint: str | None = None):
    from modelscope_hub import HubApi, HubConfig

    # Its retries are logged as warnings, a screenful offline; the one line that matters is ours.
    for name in ("modelscope", "modelscope_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # A fresh config: the client's default one is read once per process, and MODELSCOPE_ENDPOINT may have changed.
    return HubApi(config=HubConfig(endpoint=endpoint))


def _modelscope_listing(model_id: str) -> Listing:
    from modelscope_hub.errors import (
        AuthenticationError,
        NetworkError,
        NotExistError,
        PermissionDeniedError,
    )

    try:
        # modelscope.cn first, then modelscope.ai, unless an endpoint is configured (the client's own rule).
        endpoint = _modelscope_api().resolve_endpoint_for_read(model_id)
        files = _modelscope_api(endpoint).list_repo_files(model_id, "model", revision="master")
    except NotExistError:
        raise HubUnavailable(f"ModelScope has no model {model_id}") from None
    except (AuthenticationError, PermissionDeniedError) as exc:
        raise HubUnavailable(f"ModelScope refuses {model_id} ({type(exc).__name__}: {_first_line(exc)})") from None
    except NetworkError as exc:
        raise HubUnavailable(f"ModelScope ({_modelscope_endpoint()}) cannot be reached ({_first_line(exc)})") from None
    blobs = tuple(RemoteFile(f.path, f.size, f.sha256) for f in files if not f.is_dir)
    return Listing("modelscope", model_id, "master", None, blobs, endpoint)


def _modelscope_fetch(listing: Listing, folder: Path) -> None:
    from modelscope_hub import ProgressCallback
    from modelscope_hub.errors import HubError
    from tqdm import tqdm

    # One bar for the whole model; files already complete in the folder are skipped by the client, so they start it.
    done = sum(f.size for f in listing.files if (folder / f.path).is_file() and (folder / f.path).stat().st_size == f.size)
    bar = tqdm(total=listing.total_bytes, initial=done, unit="B", unit_scale=True, unit_divisor=1024, desc=listing.model_id, disable=None)

    class Progress(ProgressCallback):  # the client makes one per file and reports every chunk, resumed bytes first
        def update(self, size: int) -> None:
            bar.update(size)

    # The listing is passed on, so the client checks each file against the Sha256 the hub listed.
    file_list = [{"Path": f.path, "Size": f.size, "Sha256": f.sha256, "Type": "blob"} for f in listing.files]
    try:
        with bar:
            _modelscope_api(listing.endpoint).download_repo(
                listing.model_id, "model", revision=listing.revision, local_dir=folder, file_list=file_list, progress_callbacks=[Progress]
            )
    except HubError as exc:
        raise DomaintuneError(f"ModelScope download of {listing.model_id} failed ({type(exc).__name__}: {_first_line(exc)})") from None


# ------------------------------------------------------------------------------------------------------- Hugging Face

def _hf_endpoint() -> str:
    import os

    from huggingface_hub import constants

    # The client reads HF_ENDPOINT once, when it is imported; read it now, as for ModelScope.
    return os.environ.get("HF_ENDPOINT", constants.ENDPOINT).rstrip("/")


def _hf_listing(model_id: str) -> Listing:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
    )

    try:
        info = HfApi(endpoint=_hf_endpoint()).model_info(model_id, revision="main", files_metadata=True, timeout=PROBE_TIMEOUT_S * 2)
    except GatedRepoError:
        raise HubUnavailable(f"Hugging Face gates {model_id}: accept its licence on the model page and log in (hf auth login)") from None
    except RepositoryNotFoundError:
        raise HubUnavailable(f"Hugging Face has no model {model_id} (or it is private)") from None
    except HfHubHTTPError as exc:
        raise HubUnavailable(f"Hugging Face refuses {model_id} ({_first_line(exc)})") from None
    except OSError as exc:  # httpx's transport errors are OSErrors too
        raise HubUnavailable(f"Hugging Face ({_hf_endpoint()}) cannot be reached ({type(exc).__name__}: {_first_line(exc)})") from None
    files = tuple(
        RemoteFile(s.rfilename, s.lfs.size if s.lfs else (s.size or 0), s.lfs.sha256 if s.lfs else None, None if s.lfs else s.blob_id)
        for s in info.siblings or ()
    )
    return Listing("huggingface", model_id, "main", info.sha, files, _hf_endpoint())


def _hf_fetch(listing: Listing, folder: Path) -> None:
    import shutil

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        # Its own bar shows bytes and rate; the commit pins what was listed, so the files match the checksums.
        snapshot_download(listing.model_id, revision=listing.commit, local_dir=folder, endpoint=listing.endpoint)
    except (HfHubHTTPError, OSError) as exc:
        raise DomaintuneError(f"Hugging Face download of {listing.model_id} failed ({type(exc).__name__}: {_first_line(exc)})") from None
    # The client checks no checksum; these are the hub's: sha256 of LFS files, git's blob id of the others.
    for remote in listing.files:
        problem = checksum_problem(folder / remote.path, remote)
        if problem:
            (folder / remote.path).unlink(missing_ok=True)
            raise DomaintuneError(f"Hugging Face download of {listing.model_id}: {remote.path} {problem}; run the download again")
    shutil.rmtree(folder / ".cache", ignore_errors=True)  # the client's resume bookkeeping, not part of the model


def checksum_problem(path: Path, remote: RemoteFile) -> str | None:
    """Why the file is not the one listed (size, then checksum), or None."""
    if not path.is_file():
        return "is missing"
    size = path.stat().st_size
    if size != remote.size:
        return f"has {size:,} bytes, the hub lists {remote.size:,}"
    if remote.sha256:
        digest = hashlib.sha256()
    elif remote.git_sha1:
        digest = hashlib.sha1(f"blob {size}\0".encode())
    else:
        return None
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    expected = remote.sha256 or remote.git_sha1
    return None if digest.hexdigest() == expected else f"does not match the hub's checksum {expected[:16]}…"


HUBS = {
    "modelscope": Hub("modelscope", "ModelScope", _modelscope_endpoint, _modelscope_listing, _modelscope_fetch),
    "huggingface": Hub("huggingface", "Hugging Face", _hf_endpoint, _hf_listing, _hf_fetch),
}


def get_hub(name: str) -> Hub:
    if name not in HUBS:
        raise DomaintuneError(f"unknown hub {name!r}; hubs: {', '.join(HUBS)}")
    return HUBS[name]
