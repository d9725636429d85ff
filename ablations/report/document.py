"""The report as a list of blocks (headings, paragraphs, lists, the table, figures), rendered to
Markdown (``report.md``) and to one self-contained HTML page (``report.html``, figures embedded as
base64 PNG). Text in blocks is Markdown-lite: `code` and **strong** only."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from .formats import md_text, table_html, table_markdown
from .table import Table


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Items:
    items: list[str]


@dataclass(frozen=True)
class TableBlock:
    table: Table


@dataclass(frozen=True)
class FigureBlock:
    path: Path  # the PNG; the PDF beside it has the same stem
    caption: str


Block = Union[Heading, Paragraph, Items, TableBlock, FigureBlock]


def render_markdown(blocks: list[Block]) -> str:
    """The blocks as Markdown; every text through ``md_text`` (no raw HTML from names or descriptions)."""
    parts = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"{'#' * b.level} {md_text(_one_line(b.text))}\n")
        elif isinstance(b, Paragraph):
            parts.append(f"{md_text(b.text)}\n")
        elif isinstance(b, Items):
            parts.append("\n".join(f"- {md_text(_one_line(item))}" for item in b.items) + "\n")
        elif isinstance(b, TableBlock):
            parts.append(table_markdown(b.table))
        elif isinstance(b, FigureBlock):
            p = b.path
            parts.append(f"![{p.stem}]({p.name})\n\n*{md_text(_one_line(b.caption))}* ([PDF]({p.stem}.pdf))\n")
    return "\n".join(parts)


def _one_line(text: str) -> str:
    """A heading, list item or caption stays one line whatever a name holds (a newline would end it)."""
    return " ".join(text.splitlines())


def inline_html(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em}
.table-wrap{max-width:100%;overflow-x:auto;margin:1em 0}
table{border-collapse:collapse;font-size:.86em;border-top:2px solid #222;border-bottom:2px solid #222}
th{border-bottom:1px solid #222;font-weight:600;vertical-align:bottom}th,td{padding:.25em .45em}
td{white-space:nowrap;vertical-align:top}td.wrap{white-space:normal;overflow-wrap:break-word}
th:first-child,td:first-child{position:sticky;left:0;background:inherit}
td.r,th.r{text-align:right}td.l,th.l{text-align:left}thead tr,tbody tr{background:#fff}
tbody tr:nth-child(even){background:#f7f7f7}code{background:#f2f2f2;padding:0 .2em;border-radius:3px}
figure{margin:1.2em 0}figure img{max-width:100%;border:0}figcaption{font-size:.9em;color:#444;max-width:820px}
"""


def render_html(blocks: list[Block], title: str) -> str:
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             f"<title>{html.escape(title)} report</title>\n<style>{_CSS}</style>\n</head>\n<body>"]
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{inline_html(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            parts.append(f"<p>{inline_html(b.text)}</p>")
        elif isinstance(b, Items):
            parts.append("<ul>\n" + "\n".join(f"<li>{inline_html(i)}</li>" for i in b.items) + "\n</ul>")
        elif isinstance(b, TableBlock):
            parts.append(table_html(b.table))
        elif isinstance(b, FigureBlock):
            data = base64.b64encode(b.path.read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{html.escape(b.path.stem)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{inline_html(b.caption)}</figcaption></figure>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)
