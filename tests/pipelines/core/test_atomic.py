"""Atomic writes: one file mode for everything written, and a full disk named with the space it needed (issue 20)."""

import errno
import os
import shutil

import pytest

from pipelines.core import atomic
from pipelines.core.atomic import write_text
from pipelines.core.errors import DomaintuneError


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_get_the_mode_of_the_umask(tmp_path, umask, mode):
    # mkstemp creates 0600 whatever the umask: reports, metrics and stats used to differ from the datasets (0644).
    previous = os.umask(umask)
    try:
        write_text(tmp_path / "report.md", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == mode


class FullDisk:
    """A file on a disk with no room left: every write fails as the kernel fails it."""

    def __init__(self, fd):
        self.fd = fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_names_the_file_and_the_space_it_needed(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text("previous", encoding="utf-8")
    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: FullDisk(fd))
    with pytest.raises(DomaintuneError) as caught:
        write_text(target, "话" * 1000)  # 3000 bytes of UTF-8
    free = shutil.disk_usage(tmp_path).free
    assert str(caught.value).startswith(f"{target}: no space left on device: writing it needs 3.0 kB, ")
    assert f" free in {tmp_path}; free some space and run again" in str(caught.value) and free > 0
    assert target.read_text(encoding="utf-8") == "previous" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
