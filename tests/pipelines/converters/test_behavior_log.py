import math
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pipelines.converters.behavior_log import INSTRUCTION, convert
from pipelines.core.errors import DomaintuneError, RecordError
from pipelines.core.registry import CONVERTERS
from pipelines.core.tasks import load_task
from pipelines.data.build import build_task
from pipelines.data.split import chronological_split

FIXTURES = Path(__file__).parents[2] / "fixtures" / "behavior"
K2 = {"context_events": 2}
D = "2025-06-02 "
A1 = D + "08:00:00 - 启动应用: chrome.exe"
A2 = D + "08:00:05 - 切换到窗口: GitHub (应用: chrome.exe)"
A3 = D + "08:01:00 - 访问网站 github.com 的页面 'Issues'"
A4 = D + "08:10:00 - 使用应用: chrome.exe (时长: 595.50秒)"
A5 = D + "08:40:00 - 关闭应用: chrome.exe"  # exactly 30 min after A4: same session
A6 = D + "09:10:01 - 启动应用: Code.exe"  # 30 min 1 s after A5: a new session
A7 = D + "09:10:05 - 访问文件: main.py (位于 C:\\src)"
A8 = D + "09:10:05 - 切换到窗口: main.py - VS Code (应用: Code.exe)"  # same second as A7, logged after it
B1 = D + "10:00:00 - 启动应用: WINWORD.EXE"
B2 = D + "10:05:00 - 访问文件: 报告.docx (位于 D:\\文档)"
B3 = D + "10:06:00 - 关闭应用: WINWORD.EXE"
# K = 2: every event after the first two of its session, with the two before it as input.
U1_SAMPLES = [([A1, A2], A3), ([A2, A3], A4), ([A3, A4], A5), ([A6, A7], A8)]
U2_SAMPLES = [([B1, B2], B3)]


def records(samples):
    return [{"instruction": INSTRUCTION, "input": "\n".join(inputs), "output": output} for inputs, output in samples]


def test_registered_under_its_name():
    assert CONVERTERS.get("behavior_log").fn is convert


def test_shuffled_two_user_log_becomes_per_session_k_windows():
    conversion = convert([FIXTURES / "two_users.jsonl"], K2, skip_invalid=False)
    assert [e.record for e in conversion.examples] == records(U1_SAMPLES + U2_SAMPLES)
    assert [e.group for e in conversion.examples] == ["u1"] * 4 + ["u2"]
    assert [(e.order.ts, e.order.seq) for e in conversion.examples] == [
        (D + "08:01:00", 7), (D + "08:10:00", 1), (D + "08:40:00", 4), (D + "09:10:05", 6), (D + "10:06:00", 9)
    ]  # (timestamp, position among the file's records)
    assert conversion.skipped == Counter()


def test_session_gap_option_moves_the_cut():
    # With 20 minutes, A4 -> A5 (30 min) also cuts, leaving A3, A4 and A8 as the only u1 outputs.
    conversion = convert([FIXTURES / "two_users.jsonl"], {**K2, "session_gap_minutes": 20}, skip_invalid=False)
    assert [e.record["output"] for e in conversion.examples if e.group == "u1"] == [A3, A4, A8]


def test_default_window_of_ten_needs_eleven_events_in_a_session():
    assert convert([FIXTURES / "two_users.jsonl"], {}, skip_invalid=False).examples == []


def test_csv_and_rendered_text_read_like_json_lines():
    u1 = records(U1_SAMPLES)
    assert [e.record for e in convert([FIXTURES / "u1.csv"], K2, False).examples] == u1
    from_txt = convert([FIXTURES / "u1.txt"], K2, False).examples
    assert [e.record for e in from_txt] == u1
    assert {e.group for e in from_txt} == {"u1"}  # the file's stem
    assert {e.group for e in convert([FIXTURES / "u1.txt"], {**K2, "user": "alice"}, False).examples} == {"alice"}


def test_events_of_one_user_may_span_files(tmp_path):
    lines = (FIXTURES / "two_users.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "a.jsonl").write_text("".join(lines[:6]), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("".join(lines[6:]), encoding="utf-8")
    conversion = convert([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], K2, False)
    assert [e.record for e in conversion.examples] == records(U1_SAMPLES + U2_SAMPLES)


def test_chronological_split_keeps_each_users_future_out_of_training():
    task = load_task("behavior")
    conversion = convert(task.source_paths, task.config["source"]["options"], False)
    train, val = chronological_split(conversion.examples, task.config["split"]["val_fraction"], 0)
    latest_train, earliest_val, sizes = {}, {}, defaultdict(Counter)
    for e in train:
        latest_train[e.group] = max(latest_train.get(e.group, ""), e.order.ts)
        sizes[e.group]["train"] += 1
    for e in val:
        earliest_val[e.group] = min(earliest_val.get(e.group, "9"), e.order.ts)
        sizes[e.group]["val"] += 1
    assert set(earliest_val) == {"student", "developer", "office_worker", "designer"}
    for user, first_val in earliest_val.items():
        assert latest_train[user] <= first_val
        n = sizes[user]["train"] + sizes[user]["val"]
        assert sizes[user]["val"] == math.ceil(0.2 * n)


def test_committed_sample_set_builds_both_splits(tmp_path):
    summary = build_task(load_task("behavior"), dataset_dir=tmp_path)
    assert summary.counts == {"behavior_train": 2211, "behavior_val": 555}
    assert (summary.read, summary.duplicates, summary.skipped) == (2766, 0, {})


def rejected(tmp_path: Path, name: str, content: str | bytes, error=RecordError) -> str:
    """The error a build of one bad file raises; the build must leave no dataset behind."""
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    dataset_dir = tmp_path / "datasets"
    with pytest.raises(error) as exc:
        build_task(load_task("behavior"), [path], dataset_dir=dataset_dir)
    assert not dataset_dir.exists()
    return str(exc.value).replace(str(path), name)


GOOD = '{"user": "u1", "ts": "2025-06-02 08:00:00", "event": "app_start", "app": "chrome.exe"}\n'
EVENT_NAMES = "['app_start', 'app_close', 'window_switch', 'web_visit', 'file_access', 'app_usage']"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("log.jsonl", GOOD + '{"user": "u1", "ts": \n', "log.jsonl: line 2: -: not valid JSON: Expecting value"),
        ("log.jsonl", GOOD + "\n" + GOOD + "[1, 2]\n", "log.jsonl: line 4: (record): [1, 2] is not of type 'object'"),
        (
            "log.jsonl",
            '{"user": "u1", "ts": "2025-06-02 08:00:00", "event": "app_usage", "app": "a", "duration_s": NaN}\n',
            "log.jsonl: line 1: -: not valid JSON: NaN is not a JSON value",
        ),
        (
            "log.jsonl",
            GOOD.replace("app_start", "app_crash"),
            f"log.jsonl: line 1: event: 'app_crash' is not one of {EVENT_NAMES}",
        ),
        (
            "log.jsonl",
            '{"user": "u1", "ts": "2025-06-02 08:00:00", "event": "web_visit", "title": "t"}\n',
            "log.jsonl: line 1: domain: 'domain' is a required property",
        ),
        (
            "log.jsonl",
            GOOD.replace("2025-06-02 08:00:00", "02/06/2025 08:00"),
            (
                "log.jsonl: line 1: ts: '02/06/2025 08:00' is not a timestamp: expected 'YYYY-MM-DD HH:MM:SS', "
                "ISO 8601 (2025-05-27T08:42:30.250+08:00) or epoch seconds / milliseconds"
            ),
        ),
        (
            "log.jsonl",
            GOOD + GOOD.replace("2025-06-02", "2025-02-30"),
            "log.jsonl: line 2: ts: '2025-02-30 08:00:00' is not a real date-time: day is out of range for month",
        ),
        (
            "log.jsonl",
            '{"user": "u1", "ts": "2025-06-02 08:00:00", "event": "app_usage", "app": "a", "duration_s": "12"}\n',
            "log.jsonl: line 1: duration_s: '12' is not of type 'number'",
        ),
        ("log.jsonl", "", "log.jsonl: file: -: file is empty"),
        ("log.jsonl", " \n\n", "log.jsonl: file: -: file is empty"),
        ("log.jsonl", GOOD.encode() + b'{"app": "\xff"}\n', "log.jsonl: line 2: -: not UTF-8 (byte 96: invalid start byte)"),  # 87-byte first line + 9
        ("log.csv", "user,event,app\nu1,app_start,a\n", "log.csv: line 1: header: missing column(s) ts; columns: user, event, app"),
        (
            "log.csv",
            "user,ts,event,app\nu1,2025-06-02 08:00:00,app_start,a\nu1,2025-06-02 08:01:00,app_close,a,extra\n",
            "log.csv: line 3: -: expected 4 columns as in the header, got 5",
        ),
        ("log.csv", 'user,ts,event,app\nu1,2025-06-02 08:00:00,app_start,"a\n', "log.csv: line 2: -: not valid CSV: unexpected end of data"),
        (
            "log.csv",
            "user,ts,event,app,duration_s\nu1,2025-06-02 08:00:00,app_usage,a,abc\n",
            "log.csv: line 2: duration_s: 'abc' is not of type 'number'",
        ),
        ("u1.txt", "2025-06-02 08:00:00 - 启动应用: a\n2025-06-02 08:01:00 - 打开游戏: 原神\n", "u1.txt: line 2: event: unknown action text: '打开游戏: 原神'"),
        (
            "u1.txt",
            "2025-06-02 08:00:00 - 切换到窗口: GitHub (应用: chrome.exe\n",
            "u1.txt: line 1: window_switch: broken fields, expected '切换到窗口: {title} (应用: {app})': '切换到窗口: GitHub (应用: chrome.exe'",
        ),
        ("u1.txt", "启动应用: a\n", "u1.txt: line 1: ts: line does not start with a 'YYYY-MM-DD HH:MM:SS - ' timestamp"),
    ],
)
def test_bad_input_stops_the_build_with_file_line_field_reason(tmp_path, name, content, message):
    assert rejected(tmp_path, name, content) == message


def test_bad_line_after_a_blank_one_keeps_its_file_line_number(tmp_path):
    lines = (FIXTURES / "two_users.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[8] = "not json\n"
    assert rejected(tmp_path, "log.jsonl", "".join(lines)) == "log.jsonl: line 9: -: not valid JSON: Expecting value"


def test_unsupported_format_and_bad_options_are_one_line_errors(tmp_path):
    message = rejected(tmp_path, "events.log", GOOD, DomaintuneError)
    assert message == "events.log: unsupported log format '.log'; use one of .jsonl, .csv, .txt"
    with pytest.raises(DomaintuneError) as exc:
        convert([FIXTURES / "u1.txt"], {"context_events": 0, "gap": 5}, False)
    assert str(exc.value) == (
        "converter behavior_log: invalid options: (top level): Additional properties are not allowed ('gap' was unexpected); "
        "context_events: 0 is less than the minimum of 1"
    )


def test_skip_invalid_counts_each_reason_and_keeps_the_rest(tmp_path):
    good = (FIXTURES / "two_users.jsonl").read_text(encoding="utf-8")
    bad = "oops\n" + GOOD.replace("app_start", "app_crash") + "oops again\n"
    (tmp_path / "log.jsonl").write_text(bad + good, encoding="utf-8")
    conversion = convert([tmp_path / "log.jsonl"], K2, skip_invalid=True)
    assert [e.record for e in conversion.examples] == records(U1_SAMPLES + U2_SAMPLES)
    assert conversion.skipped == Counter({"-: not valid JSON: Expecting value": 2, f"event: 'app_crash' is not one of {EVENT_NAMES}": 1})
    assert [(path, location) for path, location, _ in conversion.skipped_at] == [(str(tmp_path / "log.jsonl"), f"line {n}") for n in (1, 2, 3)]


@pytest.mark.parametrize(
    "ts, timezone",
    [
        ("2025-06-02 08:00:05", None),  # already the wall clock
        ("2025-06-02T08:00:05", None),  # ISO 8601 without a zone: taken as the wall clock
        ("2025-06-02T08:00:05.987", None),  # fractions are cut, never rounded up into the next second
        ("2025-06-02T00:00:05Z", None),  # UTC -> Asia/Shanghai (+8), the default zone
        ("2025-06-02T00:00:05.5+00:00", None),
        ("2025-06-02T09:00:05+09:00", None),  # Tokyo's 09:00 is Shanghai's 08:00
        ("2025-06-02T08:00:05+0800", None),
        (1748822405, None),  # epoch seconds of 2025-06-02T00:00:05Z
        (1748822405.9, None),
        (1748822405123, None),  # epoch milliseconds
        ("1748822405", None),  # digits, as a CSV cell holds them
        ("2025-06-02T00:00:05Z", "UTC"),  # the task's zone decides the wall clock: 00:00:05 there
    ],
)
def test_each_timestamp_form_becomes_the_wall_clock_of_the_tasks_zone(tmp_path, ts, timezone):
    import json

    expected = "2025-06-02 00:00:05" if timezone == "UTC" else D + "08:00:05"
    events = [{"user": "u1", "ts": ts, "event": "app_start", "app": "a.exe"}, {"user": "u1", "ts": "2025-06-02 08:00:00", "event": "app_close", "app": "b.exe"}]
    if timezone == "UTC":
        events[1]["ts"] = "2025-06-02 00:00:00"
    (tmp_path / "log.jsonl").write_text("\n".join(json.dumps(e) for e in events), encoding="utf-8")
    options = {"context_events": 1, **({"timezone": timezone} if timezone else {})}
    [example] = convert([tmp_path / "log.jsonl"], options, skip_invalid=False).examples
    assert example.record["output"] == f"{expected} - 启动应用: a.exe"  # 5 s after the close: sorted after it


def test_unknown_time_zone_is_a_one_line_error():
    with pytest.raises(DomaintuneError, match=r"^converter behavior_log: invalid options: timezone: unknown time zone 'Mars/Olympus'"):
        convert([FIXTURES / "u1.txt"], {"timezone": "Mars/Olympus"}, False)


def test_a_log_with_every_event_doubled_gives_the_clean_logs_samples(tmp_path):
    lines = (FIXTURES / "two_users.jsonl").read_text(encoding="utf-8").splitlines()
    events = [line for line in lines if line.strip()]
    (tmp_path / "doubled.jsonl").write_text("\n".join(lines + lines), encoding="utf-8")  # the whole log twice, far apart
    (tmp_path / "adjacent.jsonl").write_text("\n".join(line for line in lines for _ in (0, 1)), encoding="utf-8")
    clean = convert([FIXTURES / "two_users.jsonl"], K2, skip_invalid=False)
    for name in ("doubled.jsonl", "adjacent.jsonl"):
        doubled = convert([tmp_path / name], K2, skip_invalid=False)
        assert [e.record for e in doubled.examples] == [e.record for e in clean.examples] == records(U1_SAMPLES + U2_SAMPLES)
        assert doubled.skipped == Counter({"duplicate event: same user, time, event and fields as one before it (logged twice)": len(events)})



def test_placeholders_fill_samples_that_build_their_record_on_demand(tmp_path):
    # Samples hold no text of their own (memory for 10^7 events); a filled placeholder is kept per sample.
    from pipelines.data.placeholders import fill_placeholders

    log = tmp_path / "u1.txt"
    log.write_text("\n".join([A1, A2, D + "08:01:00 - 切换到窗口: {{who}} 的文档 (应用: WINWORD.EXE)", A4]), encoding="utf-8")
    examples = convert([log], K2, skip_invalid=False).examples
    fill_placeholders(examples, {"who": "张三"}, "task.yaml")
    assert [e.record["output"] for e in examples] == [D + "08:01:00 - 切换到窗口: 张三 的文档 (应用: WINWORD.EXE)", A4]
    assert "张三" in examples[1].record["input"]
    assert examples[0].session is examples[1].session and set(examples[0].session.replaced) == {2, 3}
