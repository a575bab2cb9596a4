import jsonschema
import pytest

from pipelines.behavior.events import (
    EVENT_SCHEMA,
    EVENTS,
    parse_action,
    parse_line,
    render,
    to_event,
    validate_event,
)
from pipelines.core.errors import InvalidRecord

TS = "2025-05-27 08:42:30"
# One raw event and its hand-written rendering per event type: the table, verbatim.
RENDERED = [
    ({"event": "app_start", "app": "chrome.exe"}, "启动应用: chrome.exe"),
    ({"event": "app_close", "app": "chrome.exe"}, "关闭应用: chrome.exe"),
    ({"event": "window_switch", "app": "Code.exe", "title": "main.py - VS Code"}, "切换到窗口: main.py - VS Code (应用: Code.exe)"),
    ({"event": "web_visit", "app": "msedge.exe", "domain": "github.com", "title": "Repository search results"}, "访问网站 github.com 的页面 'Repository search results'"),
    ({"event": "file_access", "name": "报告.docx", "dir": r"D:\文档"}, r"访问文件: 报告.docx (位于 D:\文档)"),
    ({"event": "app_usage", "app": "WINWORD.EXE", "duration_s": 12.5}, "使用应用: WINWORD.EXE (时长: 12.50秒)"),
]


def event(**fields) -> dict:
    return {"user": "u1", "ts": TS, **fields}


def test_every_event_type_has_a_rendering_case():
    assert sorted(fields["event"] for fields, _ in RENDERED) == sorted(EVENTS)


@pytest.mark.parametrize("fields, text", RENDERED, ids=[f["event"] for f, _ in RENDERED])
def test_render_and_parse_back(fields, text):
    raw = event(**fields)
    assert render(raw) == f"{TS} - {text}"
    parsed = parse_action(render(raw))
    assert (parsed.ts, parsed.event) == (TS, fields["event"])
    spec = EVENTS[fields["event"]]
    assert parsed.target == str(fields[spec.target])
    expected = {k: v for k, v in to_event(parsed, "u1").items() if k in spec.fields}
    assert expected == {k: fields[k] for k in spec.fields}


@pytest.mark.parametrize(
    "line, event, target, detail",
    [
        # Delimiters inside titles and directories: the greedy-enough regexes still split them right.
        (f"{TS} - 切换到窗口: Issue (#12) - GitHub (应用: chrome.exe)", "window_switch", "chrome.exe", "Issue (#12) - GitHub"),
        (rf"{TS} - 访问文件: a.txt (位于 C:\Program Files (x86))", "file_access", "a.txt", r"C:\Program Files (x86)"),
        (f"{TS} - 访问网站 example.com 的页面 'It's here'", "web_visit", "example.com", "It's here"),
        (f"  {TS} - 使用应用: a.exe (时长: 3.00秒)  ", "app_usage", "a.exe", "3.00"),
        (f"{TS} - 关闭应用: Docker Desktop.exe", "app_close", "Docker Desktop.exe", ""),
    ],
)
def test_parse_targets_and_details(line, event, target, detail):
    parsed = parse_line(line)
    assert (parsed.event, parsed.target, parsed.detail) == (event, target, detail)


@pytest.mark.parametrize(
    "line, field, reason",
    [
        ("启动应用: chrome.exe", "ts", "line does not start with a 'YYYY-MM-DD HH:MM:SS - ' timestamp"),
        ("2025-05-27 08:42 - 启动应用: chrome.exe", "ts", "line does not start with a 'YYYY-MM-DD HH:MM:SS - ' timestamp"),
        ("2025-02-30 08:42:30 - 启动应用: chrome.exe", "ts", "'2025-02-30 08:42:30' is not a real date-time: day is out of range for month"),
        (f"{TS} - 打开游戏: 原神", "event", "unknown action text: '打开游戏: 原神'"),
        (f"{TS} - 启动应用:", "app_start", "broken fields, expected '启动应用: {app}': '启动应用:'"),
        (
            f"{TS} - 切换到窗口: GitHub (应用: chrome.exe",
            "window_switch",
            "broken fields, expected '切换到窗口: {title} (应用: {app})': '切换到窗口: GitHub (应用: chrome.exe'",
        ),
        (
            f"{TS} - 使用应用: a.exe (时长: 3.5秒)",
            "app_usage",
            "broken fields, expected '使用应用: {app} (时长: {duration_s:.2f}秒)': '使用应用: a.exe (时长: 3.5秒)'",
        ),
    ],
)
def test_parse_failures_say_what_is_wrong(line, field, reason):
    with pytest.raises(InvalidRecord) as exc:
        parse_action(line)
    assert (exc.value.field, exc.value.reason) == (field, reason)
    assert parse_line(line) is None


BAD_RECORDS = [
    ([1], "(record)", "[1] is not of type 'object'"),
    (event(event="app_crash", app="a"), "event", "'app_crash' is not one of ['app_start', 'app_close', 'window_switch', 'web_visit', 'file_access', 'app_usage']"),
    (event(event="web_visit", title="t"), "domain", "'domain' is a required property"),
    ({"ts": TS, "event": "app_start", "app": "a"}, "user", "'user' is a required property"),
    (event(event="app_start", app="a", title=5), "title", "5 is not of type 'string'"),
    (event(event="app_usage", app="a", duration_s="12"), "duration_s", "'12' is not of type 'number'"),
    (event(event="app_usage", app="a", duration_s=True), "duration_s", "True is not of type 'number'"),
    (event(event="app_usage", app="a", duration_s=-1), "duration_s", "-1 is less than the minimum of 0"),
    (event(event="app_start", app="two\nlines"), "app", r"'two\nlines' does not match '^[^\\r\\n]*\\S[^\\r\\n]*$(?!\\n)'"),
    # Python's `$` matches before a final newline; the patterns must still refuse it.
    (event(event="app_start", app="chrome.exe\n"), "app", r"'chrome.exe\n' does not match '^[^\\r\\n]*\\S[^\\r\\n]*$(?!\\n)'"),
    (event(event="app_start", app=" "), "app", r"' ' does not match '^[^\\r\\n]*\\S[^\\r\\n]*$(?!\\n)'"),
    (event(event="web_visit", domain="git hub.com", title="t"), "domain", r"'git hub.com' does not match '^\\S+$(?!\\n)'"),
    (
        {**event(event="app_start", app="a"), "ts": "2025-05-27T08:42:30"},
        "ts",
        r"'2025-05-27T08:42:30' does not match '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$(?!\\n)'",
    ),
    (
        {**event(event="app_start", app="a"), "ts": TS + "\n"},
        "ts",
        r"'2025-05-27 08:42:30\n' does not match '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$(?!\\n)'",
    ),
]


@pytest.mark.parametrize("record, field, reason", BAD_RECORDS)
def test_validate_event_names_field_and_reason(record, field, reason):
    with pytest.raises(InvalidRecord) as exc:
        validate_event(record)
    assert (exc.value.field, exc.value.reason) == (field, reason)


def test_validate_event_rejects_what_a_schema_cannot_express():
    with pytest.raises(InvalidRecord, match="month must be in 1..12"):
        validate_event({**event(event="app_start", app="a"), "ts": "2025-13-01 00:00:00"})
    with pytest.raises(InvalidRecord) as exc:
        validate_event(event(event="app_usage", app="a", duration_s=float("nan")))
    assert (exc.value.field, exc.value.reason) == ("duration_s", "nan is not a finite number")


@pytest.mark.parametrize(
    "record",
    [r for r, _, _ in BAD_RECORDS] + [event(**fields) for fields, _ in RENDERED] + [event(event="app_start", app="a", extra={"x": 1})],
)
def test_fast_check_agrees_with_the_schema(record):
    """validate_event skips jsonschema for speed; it must accept exactly what EVENT_SCHEMA accepts."""
    try:
        validate_event(record)
        accepted = True
    except InvalidRecord:
        accepted = False
    assert accepted == jsonschema.Draft202012Validator(EVENT_SCHEMA).is_valid(record)


def test_validate_event_returns_the_time():
    assert str(validate_event(event(event="app_start", app="a"))) == TS
