"""The trace: appended line by line, refused when it belongs to another run, mended after a kill."""

import json

import pytest

from pipelines.agent.trace import Trace, trace_path
from pipelines.core.errors import DomaintuneError

HEADER = {"trace": "agent-data", "task": "restaurant", "model": "m", "pois": "table", "questions": None, "seed": 7}


def entry(index: int) -> dict:
    return {"index": index, "question": f"问题{index}", "kept": True, "id": str(index), "reasons": [], "record": {}, "calls": [], "errors": [], "tokens": [1, 2]}


def test_a_trace_is_read_back(tmp_path):
    path = trace_path(tmp_path / "agent.jsonl")
    assert path.name == "agent.trace.jsonl"
    trace = Trace(path, HEADER)
    assert not path.exists()  # nothing is written before the first answer
    trace.add(entry(0))
    trace.add(entry(2))
    again = Trace(path, HEADER)
    assert sorted(again.entries) == [0, 2] and json.loads(path.read_text(encoding="utf-8").splitlines()[0]) == HEADER
    again.check_question(2, "问题2")
    with pytest.raises(DomaintuneError, match=r"question 3 was '问题2' and is now '别的': the questions changed"):
        again.check_question(2, "别的")


def test_a_line_cut_short_is_dropped(tmp_path):
    path = tmp_path / "a.trace.jsonl"
    Trace(path, HEADER).add(entry(0))
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry(1))[:40])  # killed mid-write
    trace = Trace(path, HEADER)
    assert sorted(trace.entries) == [0]
    trace.add(entry(1))
    assert sorted(Trace(path, HEADER).entries) == [0, 1]


def test_another_runs_trace_is_refused_unless_restarted(tmp_path):
    path = tmp_path / "a.trace.jsonl"
    Trace(path, HEADER).add(entry(0))
    with pytest.raises(DomaintuneError, match=r"is the trace of another run \(model 'm'\); rerun with those settings"):
        Trace(path, {**HEADER, "model": "other"})
    restarted = Trace(path, {**HEADER, "model": "other"}, restart=True)
    assert restarted.entries == {} and len(path.read_text(encoding="utf-8").splitlines()) == 2  # kept until the first answer
    restarted.add(entry(5))
    assert sorted(Trace(path, {**HEADER, "model": "other"}).entries) == [5]


def test_an_interrupt_after_a_line_is_written_still_counts_it(tmp_path, monkeypatch):
    path = tmp_path / "a.trace.jsonl"
    trace = Trace(path, HEADER)
    trace.add(entry(0))

    def interrupted(_fd):  # Ctrl-C lands after the line reached the file, before the trace counted it
        raise KeyboardInterrupt

    monkeypatch.setattr("pipelines.agent.trace.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trace.add(entry(1))
    assert sorted(trace.entries) == [0] and sorted(trace.on_disk().entries) == [0, 1]
    restarted = Trace(path, {**HEADER, "model": "other"}, restart=True)
    assert restarted.on_disk().entries == {}  # nothing of this run is on disk yet; the other run's trace is not read
