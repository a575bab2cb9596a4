"""Deterministic, realistic Windows activity logs for the behavior task: several personas, several days each.

A persona has apps (window titles, files, websites) and a workday routine of time blocks. A block opens with
the persona's habits in order, fills the rest of its time with weighted app stints (start, switch to a window,
browse or open a file, usage summary, sometimes close), and chat pop-ups or a stray app add noise. Pauses
between blocks are long enough to start new sessions. Each (seed, persona, day) draws from its own random
stream, so a longer log begins with exactly the days of a shorter one.

    domaintune gen-logs -o /tmp/events.jsonl --events 100000 --seed 1
    domaintune gen-logs --sample-set -o data/raw/behavior     # regenerate the committed default input
"""

import csv
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

from .atomic import write_text
from .behavior_events import FIELD_SCHEMAS, render
from .errors import DomaintuneError
from .paths import REPO_ROOT


@dataclass(frozen=True)
class App:
    exe: str
    titles: tuple[str, ...]  # window titles, most used first
    files: tuple[tuple[str, str], ...] = ()  # (name, dir) of the document each title shows, same order
    sites: tuple[tuple[str, tuple[str, ...]], ...] = ()  # browsers: (domain, page titles), most visited first


@dataclass(frozen=True)
class Block:
    start: float  # hour of day
    end: float
    habits: tuple[str, ...]  # apps used in this order when the block opens
    mix: dict[str, float]  # app -> weight for the rest of the block
    chance: float = 1.0  # share of days the block happens at all (evenings are optional)


@dataclass(frozen=True)
class Persona:
    user: str
    apps: dict[str, App]
    blocks: tuple[Block, ...]
    noise: tuple[str, ...]  # apps that interrupt now and then


WECHAT = App("WeChat.exe", ("微信", "文件传输助手", "班级群", "项目组"))
EXPLORER = App("explorer.exe", ("下载", "文档", "此电脑", "桌面"))
CHROME_DEV = App(
    "chrome.exe",
    ("GitHub - Google Chrome", "Stack Overflow - Google Chrome", "Jira - Google Chrome"),
    sites=(
        ("github.com", ("Pull requests · acme/billing-service", "Repository search results", "Issues · acme/billing-service", "Actions · acme/billing-service")),
        ("stackoverflow.com", ("python - How to mock datetime.now in pytest", "sql - Postgres upsert with returning", "git - Undo the last commit")),
        ("jira.acme.com", ("BILL-1432 发票导出超时", "BILL-1450 对账任务重试", "看板 - Billing Sprint 23")),
        ("docs.python.org", ("asyncio — Asynchronous I/O", "datetime — Basic date and time types")),
        ("www.bilibili.com", ("【硬核】一小时讲透 Kubernetes", "每日新闻速览")),
    ),
)
PERSONAS = {
    "student": Persona(
        "student",
        {
            "wechat": WECHAT,
            "explorer": EXPLORER,
            "chrome": App(
                "chrome.exe",
                ("中国知网 - Google Chrome", "哔哩哔哩 - Google Chrome", "DeepSeek - Google Chrome"),
                sites=(
                    ("www.cnki.net", ("检索结果 - 图神经网络 推荐系统", "基于图神经网络的会话推荐研究 - 中国知网", "高级检索")),
                    ("www.bilibili.com", ("【李沐】动手学深度学习 第9讲", "考研数学 线性代数串讲", "每周必看 - 哔哩哔哩")),
                    ("chat.deepseek.com", ("DeepSeek - 新对话", "论文润色建议")),
                    ("github.com", ("pyg-team/pytorch_geometric", "Repository search results")),
                    ("jwc.university.edu.cn", ("教务处 - 课表查询", "成绩查询")),
                ),
            ),
            "word": App(
                "WINWORD.EXE",
                ("毕业论文_初稿.docx - Word", "实验报告3.docx - Word", "开题报告.docx - Word"),
                files=(("毕业论文_初稿.docx", r"D:\学习\毕业设计"), ("实验报告3.docx", r"D:\学习\数据挖掘"), ("开题报告.docx", r"D:\学习\毕业设计")),
            ),
            "ppt": App("POWERPNT.EXE", ("组会汇报_第5周.pptx - PowerPoint",), files=(("组会汇报_第5周.pptx", r"D:\学习\组会"),)),
            "pycharm": App(
                "pycharm64.exe",
                ("gnn-rec – train.py", "gnn-rec – dataset.py", "gnn-rec – config.yaml"),
                files=(("train.py", r"D:\code\gnn-rec"), ("dataset.py", r"D:\code\gnn-rec"), ("config.yaml", r"D:\code\gnn-rec")),
            ),
            "zotero": App("zotero.exe", ("我的文库 - Zotero", "推荐系统 - Zotero")),
            "music": App("QQMusic.exe", ("QQ音乐 - 每日推荐",)),
            "steam": App("steam.exe", ("Steam", "库 - Steam")),
        },
        (
            Block(8.75, 11.75, ("wechat", "chrome", "zotero"), {"word": 3, "chrome": 3, "zotero": 1, "explorer": 1}),
            Block(14.0, 17.5, ("chrome", "pycharm"), {"pycharm": 3, "ppt": 2, "chrome": 2, "word": 1}),
            Block(19.5, 22.75, ("music", "chrome"), {"chrome": 3, "steam": 2, "wechat": 1}, chance=0.8),
        ),
        noise=("wechat", "music"),
    ),
    "developer": Persona(
        "developer",
        {
            "outlook": App("OUTLOOK.EXE", ("收件箱 - dev@acme.com - Outlook", "日历 - Outlook")),
            "teams": App("Teams.exe", ("Daily Standup | Microsoft Teams", "Billing Team | Microsoft Teams", "聊天 | Microsoft Teams")),
            "code": App(
                "Code.exe",
                ("invoice_export.py - billing-service - Visual Studio Code", "test_export.py - billing-service - Visual Studio Code", "docker-compose.yml - billing-service - Visual Studio Code"),
                files=(("invoice_export.py", r"C:\src\billing-service\billing"), ("test_export.py", r"C:\src\billing-service\tests"), ("docker-compose.yml", r"C:\src\billing-service")),
            ),
            "terminal": App("WindowsTerminal.exe", ("PowerShell", "Ubuntu-22.04", "pytest -x")),
            "chrome": CHROME_DEV,
            "postman": App("Postman.exe", ("Billing API / export - Postman",)),
            "docker": App("Docker Desktop.exe", ("Containers - Docker Desktop",)),
            "explorer": EXPLORER,
        },
        (
            Block(9.25, 12.0, ("outlook", "teams", "chrome"), {"code": 4, "terminal": 3, "chrome": 3, "postman": 1, "docker": 1}),
            Block(13.5, 18.5, ("teams", "code", "terminal"), {"code": 4, "terminal": 3, "chrome": 2, "teams": 1, "explorer": 1}),
            Block(20.5, 22.0, ("chrome",), {"chrome": 2, "code": 1}, chance=0.4),
        ),
        noise=("teams",),
    ),
    "office_worker": Persona(
        "office_worker",
        {
            "outlook": App("OUTLOOK.EXE", ("收件箱 - zhang.li@corp.cn - Outlook", "写邮件 - Outlook")),
            "dingtalk": App("DingTalk.exe", ("钉钉", "财务部 - 钉钉", "审批 - 钉钉")),
            "excel": App(
                "EXCEL.EXE",
                ("5月销售报表.xlsx - Excel", "费用报销汇总.xlsx - Excel", "客户名单.xlsx - Excel"),
                files=(("5月销售报表.xlsx", r"D:\工作\报表\2025"), ("费用报销汇总.xlsx", r"D:\工作\财务"), ("客户名单.xlsx", r"D:\工作\客户")),
            ),
            "word": App("WINWORD.EXE", ("周工作总结.docx - Word", "会议纪要_0527.docx - Word"), files=(("周工作总结.docx", r"D:\工作\总结"), ("会议纪要_0527.docx", r"D:\工作\会议"))),
            "edge": App(
                "msedge.exe",
                ("OA 办公系统 - Microsoft Edge", "百度一下 - Microsoft Edge"),
                sites=(
                    ("oa.corp.cn", ("待办事项 - OA 办公系统", "报销申请 - OA 办公系统", "公告通知")),
                    ("www.baidu.com", ("个税计算器_百度搜索", "Excel 数据透视表 教程_百度搜索")),
                    ("www.taobao.com", ("我的订单 - 淘宝网",)),
                ),
            ),
            "acrobat": App("Acrobat.exe", ("合同_客户A.pdf - Adobe Acrobat",), files=(("合同_客户A.pdf", r"D:\工作\合同"),)),
            "explorer": EXPLORER,
        },
        (
            Block(8.75, 12.0, ("outlook", "dingtalk", "excel"), {"excel": 4, "outlook": 2, "edge": 2, "word": 1, "dingtalk": 1}),
            Block(13.0, 17.75, ("edge", "excel"), {"excel": 3, "word": 2, "edge": 2, "acrobat": 1, "explorer": 1}),
        ),
        noise=("dingtalk", "outlook"),
    ),
    "designer": Persona(
        "designer",
        {
            "figma": App("Figma.exe", ("App 首页改版 – Figma", "Design System – Figma")),
            "photoshop": App(
                "Photoshop.exe",
                ("banner_618.psd @ 66.7% (RGB/8)", "海报_新品发布.psd @ 50% (CMYK/8)"),
                files=(("banner_618.psd", r"E:\设计\2025\618活动"), ("海报_新品发布.psd", r"E:\设计\2025\新品")),
            ),
            "illustrator": App("Illustrator.exe", ("logo_v3.ai @ 150% (RGB/预览)",), files=(("logo_v3.ai", r"E:\设计\品牌"),)),
            "chrome": App(
                "chrome.exe",
                ("Dribbble - Google Chrome", "花瓣网 - Google Chrome"),
                sites=(
                    ("dribbble.com", ("Popular shots on Dribbble", "Mobile app onboarding – Dribbble")),
                    ("huaban.com", ("电商 banner 灵感 - 花瓣网",)),
                    ("fonts.google.com", ("Browse Fonts - Google Fonts",)),
                    ("www.figma.com", ("Community - Figma",)),
                ),
            ),
            "wechat": WECHAT,
            "music": App("Spotify.exe", ("Spotify Premium",)),
            "explorer": EXPLORER,
        },
        (
            Block(10.0, 13.0, ("wechat", "music", "figma"), {"figma": 4, "chrome": 2, "photoshop": 2, "explorer": 1}),
            Block(14.5, 19.0, ("photoshop",), {"photoshop": 3, "illustrator": 2, "figma": 2, "chrome": 1}),
            Block(21.0, 23.0, ("chrome",), {"chrome": 2, "figma": 1}, chance=0.5),
        ),
        noise=("wechat",),
    ),
}
START = datetime(2025, 5, 26)  # a Monday; day n of a persona is its n-th workday from here
NOISE_CHANCE = 0.08
CLOSE_CHANCE = 0.25


@dataclass
class _Day:
    persona: Persona
    rng: random.Random
    midnight: datetime
    t: int = 0  # seconds since midnight
    running: dict[str, None] = field(default_factory=dict)  # ordered set: iteration order must not depend on hashing
    events: list[dict] = field(default_factory=list)

    def emit(self, event: str, **fields) -> None:
        ts = str(self.midnight + timedelta(seconds=self.t))
        self.events.append({"user": self.persona.user, "ts": ts, "event": event, **fields})

    def wait(self, low: int, high: int) -> None:
        self.t += self.rng.randint(low, high)


def _ranked(rng: random.Random, items: Sequence):
    """Earlier items are favourite ones (weights 1, 1/2, 1/3, ...): routines repeat, as people's do."""
    return rng.choices(items, weights=[1 / (i + 1) for i in range(len(items))])[0]


def _stint(day: _Day, key: str, short: bool = False) -> None:
    """One spell in an app: start it if needed, switch to a window, work in it, and log how long it lasted."""
    app, rng = day.persona.apps[key], day.rng
    if app.exe not in day.running:
        day.emit("app_start", app=app.exe)
        day.running[app.exe] = None
        day.wait(2, 12)
    begin, window = day.t, _ranked(rng, range(len(app.titles)))
    day.emit("window_switch", app=app.exe, title=app.titles[window])
    for _ in range(0 if short else rng.randint(1, 4)):
        day.wait(15, 240)
        if app.sites:
            domain, titles = _ranked(rng, app.sites)
            day.emit("web_visit", app=app.exe, domain=domain, title=_ranked(rng, titles))
        elif app.files and rng.random() < 0.6:
            name, directory = app.files[window]
            day.emit("file_access", app=app.exe, name=name, dir=directory)
    day.wait(10, 60 if short else 900)
    day.emit("app_usage", app=app.exe, duration_s=round(day.t - begin + rng.random(), 2))
    if rng.random() < CLOSE_CHANCE:
        day.wait(1, 5)
        day.emit("app_close", app=app.exe)
        del day.running[app.exe]
    day.wait(3, 60)


def _block(day: _Day, block: Block) -> None:
    rng = day.rng
    # A break of at least 40 minutes before each block, so blocks are separate sessions at the default 30-minute gap.
    day.t = max(day.t + rng.randint(40, 90) * 60, int(block.start * 3600) + rng.randint(-900, 900))
    end = int(block.end * 3600) + rng.randint(-900, 900)
    for key in block.habits:
        _stint(day, key)
    apps, weights = list(block.mix), list(block.mix.values())
    while day.t < end:
        if rng.random() < NOISE_CHANCE:
            _stint(day, rng.choice(day.persona.noise), short=True)
        _stint(day, rng.choices(apps, weights)[0])


def persona_day(persona: Persona, day_index: int, seed: int) -> list[dict]:
    """One workday of a persona's events, in time order."""
    rng = random.Random(f"{seed}:{persona.user}:{day_index}")
    midnight = START + timedelta(days=day_index + 2 * (day_index // 5))  # skip weekends
    day = _Day(persona, rng, midnight)
    for block in persona.blocks:
        if rng.random() < block.chance:
            _block(day, block)
    for exe in list(day.running):  # shutting down for the night closes what is still open
        day.wait(1, 4)
        day.emit("app_close", app=exe)
    return day.events


def generate_events(n_events: int | None = None, days: int | None = None, seed: int = 0, personas: Sequence[str] = tuple(PERSONAS)) -> list[dict]:
    """The personas' events in time order: `days` workdays each, or the first `n_events` of as many days as needed."""
    if (n_events is None) == (days is None):
        raise DomaintuneError("give either a number of events or a number of days")
    unknown = [p for p in personas if p not in PERSONAS]
    if unknown or not personas:
        raise DomaintuneError(f"unknown persona(s) {', '.join(unknown) or '(none given)'}; personas are: {', '.join(PERSONAS)}")
    events: list[dict] = []
    for day_index in range(days) if days is not None else count():
        if n_events is not None and len(events) >= n_events:
            break
        for name in personas:
            events += persona_day(PERSONAS[name], day_index, seed)
    events.sort(key=lambda e: e["ts"])  # stable: same-second events of different users keep persona order
    return events if n_events is None else events[:n_events]


CSV_COLUMNS = ("user", "ts", "event", *(name for name in FIELD_SCHEMAS if name != "user"))


def _jsonl_text(events: list[dict]) -> str:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)


def _csv_text(events: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(events)
    return out.getvalue()


def _txt_text(events: list[dict]) -> str:
    users = {e["user"] for e in events}
    if len(users) > 1:
        raise DomaintuneError(f"a .txt log holds one user's rendered lines (the file name is the user), got {len(users)} users")
    return "".join(render(e) + "\n" for e in events)


WRITERS = {".jsonl": _jsonl_text, ".csv": _csv_text, ".txt": _txt_text}  # the converter's input formats


def format_events(events: list[dict], suffix: str) -> str:
    """The text of a log file in the format its suffix names."""
    if suffix not in WRITERS:
        raise DomaintuneError(f"unsupported log format {suffix!r}; use one of {', '.join(WRITERS)}")
    return WRITERS[suffix](events)


def write_events(events: list[dict], path: Path, shuffle_seed: int | None = None) -> Path:
    """Write a log file; with `shuffle_seed` its lines are shuffled, as merged logs from several machines arrive."""
    if shuffle_seed is not None:
        events = list(events)
        random.Random(shuffle_seed).shuffle(events)
    write_text(Path(path), format_events(events, Path(path).suffix))
    return Path(path)


@dataclass(frozen=True)
class SampleFile:
    name: str
    persona: str
    shuffled: bool = False


SAMPLE_DIR = REPO_ROOT / "data" / "raw" / "behavior"
SAMPLE_DAYS = 5
# One persona per file and every input format; the developer's log arrives out of order.
SAMPLE_SET = (
    SampleFile("student.jsonl", "student"),
    SampleFile("developer.jsonl", "developer", shuffled=True),
    SampleFile("office_worker.csv", "office_worker"),
    SampleFile("designer.txt", "designer"),
)


def write_sample_set(out_dir: Path = SAMPLE_DIR, seed: int = 0) -> list[Path]:
    return [
        write_events(generate_events(days=SAMPLE_DAYS, seed=seed, personas=[f.persona]), Path(out_dir) / f.name, seed if f.shuffled else None)
        for f in SAMPLE_SET
    ]
