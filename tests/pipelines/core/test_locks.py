"""Locks that say whom they wait for (issue 20: `data` waited on a held lock in silence)."""

import subprocess
import sys

from pipelines.core.locks import holder, waiting_lock

# Holds the lock file argv[1] until its stdin closes.
HOLD = "import sys; from filelock import FileLock; lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); sys.stdin.read()"


def hold(path):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "held\n"
    return process


def test_a_held_lock_names_its_holder_then_waits_for_it(tmp_path):
    path = tmp_path / "x.lock"
    process = hold(path)
    assert holder(path).startswith(f"process {process.pid} (-c import sys; from filelock import FileLock;")
    said = []

    def say(line):
        said.append(line)
        process.stdin.close()  # the holder lets go only once we have said that we wait

    with waiting_lock(path, "the test datasets", say):
        assert process.wait(timeout=30) == 0  # the block ran after the holder had gone
    assert len(said) == 1 and said[0].startswith(f"Waiting for the test datasets: process {process.pid} (-c import sys; from filelock")
    assert said[0].endswith(f"…) holds {path} (Ctrl-C to stop waiting)")  # the command cut at 120 characters


def test_a_free_lock_is_taken_without_a_word(tmp_path):
    said = []
    with waiting_lock(tmp_path / "x.lock", "the test datasets", said.append):
        pass
    assert said == [] and holder(tmp_path / "x.lock") == "another process"  # nobody holds it now
