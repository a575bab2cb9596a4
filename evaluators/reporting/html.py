"""Self-contained HTML pages: every image inlined as base64, no script, no font or style from the network.

`report_page` is a run's eval/report.html; `compare` builds its page from the same pieces.
"""

import base64
import os
import re
from html import escape
from pathlib import Path

from markdown_it import MarkdownIt

from evaluators.reporting.summary import cell, has_verdicts, label, verdict_cell

STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
tr.differs td { background: #fff3cd; }
.note { background: #e8f0fe; border-left: 4px solid #1a73e8; padding: 0.5em 1em; }
.warning { background: #fdecea; border-left: 4px solid #c62828; padding: 0.5em 1em; }
.verdict { font-weight: bold; }
img { max-width: 100%; }
td.text { max-width: 28em; white-space: pre-wrap; }
"""
IMAGE_SRC = re.compile(r'src="([^"/:]+\.png)"')


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


def image(png: Path | None, alt: str) -> str:
    return f'<p><img alt="{escape(alt)}" src="{data_uri(png)}"></p>' if png and Path(png).exists() else ""


def table(header: list[str], rows: list[list], row_classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def markdown_html(text: str, images_dir: Path) -> str:
    """A task's Markdown report as HTML, its PNG references replaced by the images themselves."""
    html = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    return IMAGE_SRC.sub(lambda m: f'src="{data_uri(images_dir / m[1])}"' if (images_dir / m[1]).exists() else m[0], html)


def page(title: str, sections: list[str]) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(s for s in sections if s) + "\n</body></html>\n"
    )


def headline_table(summary: dict) -> str:
    header = ["", "n", *(f"{m} [95% interval]" for m in summary["metrics"]), *(["verdict"] if has_verdicts(summary) else [])]
    rows = [[label(r), r["n"] if r["n"] is not None else "–", *(cell(r, m) for m in summary["metrics"]), *verdict_cell(r, summary)] for r in summary["rows"]]
    return table(header, rows)


def clip(text: str, limit: int = 240) -> str:
    """A sample's text cut for a table cell: a model that never stops would fill the page with one answer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def samples_table(samples: list[dict], variants: list[str], metric: str) -> str:
    header = ["#", metric, "question", *(f"{v} answer" for v in variants), "reference"]
    rows = [[s["index"] + 1, f"{s['score']:.4f}", clip(s["question"]), *(clip(s.get(v, "")) for v in variants), clip(s["reference"])] for s in samples]
    return table(header, rows).replace("<td>", '<td class="text">')


def links(files: list[Path], base: Path) -> str:
    items = [f'<li><a href="{escape(os.path.relpath(f, base))}">{escape(os.path.relpath(f, base))}</a></li>' for f in files if Path(f).exists()]
    return "<h2>Files</h2><ul>" + "".join(items) + "</ul>" if items else ""


def key_values(pairs: dict) -> str:
    return table(["", ""], [[k, v] for k, v in pairs.items()]).replace("<thead><tr><th></th><th></th></tr></thead>", "")
