"""Publishing: dataset_info.json updates under a lock, signals held during the switch, streamed JSON arrays."""

import errno
import json
import multiprocessing
import os
import signal

import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.data.dataset_info import load_dataset_info, register
from pipelines.data.publish import signals_deferred, write_records

WRITERS, ROUNDS = 4, 30


def register_many(dataset_dir, writer: int) -> None:
    for i in range(ROUNDS):
        register({f"task{writer}_{i}": {"file_name": f"task{writer}_{i}.json"}}, dataset_dir)


def test_concurrent_registrations_lose_no_entry(dataset_dir):
    # Issue 8 case 3: two `domaintune data` runs at once lost one task's entries (1 of 40 trials). Without the
    # lock, 4 writers x 30 read-modify-writes here lose entries on nearly every run.
    ctx = multiprocessing.get_context("fork")
    writers = [ctx.Process(target=register_many, args=(dataset_dir, w)) for w in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
        assert process.exitcode == 0
    info = load_dataset_info(dataset_dir)
    assert len(info) == WRITERS * ROUNDS
    assert list(info) == sorted(info)


def test_signals_wait_until_the_switch_is_done():
    done = []
    with pytest.raises(KeyboardInterrupt), signals_deferred():
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C in the middle of the switch
        done.append("switch finished")
    assert done == ["switch finished"]


@pytest.mark.parametrize("records", [[], [{}], [{"instruction": "问", "history": [["a", "b"]]}, {"output": "x\ny"}]])
def test_streamed_array_has_the_bytes_of_json_dumps(tmp_path, records):
    path = tmp_path / "d.json"
    keys = write_records(path, iter(records))
    assert path.read_text(encoding="utf-8") == json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    assert keys == {k for r in records for k in r}


def test_disk_full_while_streaming_says_how_large_the_file_would_be(tmp_path, monkeypatch):
    # Issue 20: a full disk was "unexpected OSError ... (a bug)" naming no file.
    from pipelines.data import publish

    records = [{"instruction": f"问题{i}", "output": "回答" * 50} for i in range(200)]
    whole = len((json.dumps(records, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))

    class FillsAfter:  # the disk fills after 10 kB, part-way through the records
        def __init__(self, path, mode):
            self.file, self.room = open(path, mode), 10_000  # noqa: SIM115 - closed in __exit__

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            if len(data) > self.room:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.room -= len(data)
            self.file.write(data)

    monkeypatch.setattr(publish, "open", FillsAfter, raising=False)
    path = tmp_path / "telecom_train.json"
    with pytest.raises(DomaintuneError) as caught:
        write_records(path, iter(records))
    assert str(caught.value).startswith(f"{path}: no space left on device: writing it needs {whole / 1000:.1f} kB, ")
    assert not path.exists()
