"""Reports as Markdown and HTML from one list of sections (run reports, the operator's report).

Readers who never open the code get the Markdown beside the data (it diffs well and reads as
plain text) and the HTML in a browser; both are rendered from the same sections, so they never
disagree. Inline Markdown is limited to what the reports use: **bold**, `code`, [text](link).
"""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

Table = tuple[list[str], list[list[str]]]  # header, rows


@dataclass(frozen=True)
class Figure:
    """An image beside the report, by a path relative to it."""

    title: str
    path: str


@dataclass(frozen=True)
class Items:
    """A bulleted list."""

    lines: Sequence[str]


Block = str | Table | Figure | Items  # a str is one paragraph


@dataclass(frozen=True)
class Section:
    heading: str
    blocks: Sequence[Block]
    level: int = 2


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def inline_html(text: str) -> str:
    """Escape `text` for HTML, then render its inline Markdown (links, bold, code)."""
    escaped = html.escape(text, quote=True)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    return _LINK.sub(r'<a href="\2">\1</a>', escaped)


def markdown_table(table: Table) -> str:
    header, rows = table
    clean = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in clean]
    return "\n".join(lines)


def html_table(table: Table) -> str:
    header, rows = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _markdown_block(block: Block) -> str:
    if isinstance(block, str):
        return block + "\n"
    if isinstance(block, Figure):
        return f"![{block.title}]({block.path})\n"
    if isinstance(block, Items):
        return "\n".join(f"- {line}" for line in block.lines) + "\n"
    return markdown_table(block) + "\n"


def _html_block(block: Block) -> str:
    if isinstance(block, str):
        return f"<p>{inline_html(block)}</p>"
    if isinstance(block, Figure):
        source, alt = html.escape(block.path), html.escape(block.title)
        return f"<figure><img src='{source}' alt='{alt}'></figure>"
    if isinstance(block, Items):
        return "<ul>" + "".join(f"<li>{inline_html(line)}</li>" for line in block.lines) + "</ul>"
    return html_table(block)


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    parts = [f"# {title}\n"]
    for section in sections:
        parts.append(f"{'#' * section.level} {section.heading}\n")
        parts += [_markdown_block(block) for block in section.blocks]
    return "\n".join(parts)


def render_html(title: str, sections: Sequence[Section]) -> str:
    parts = [
        "<!doctype html>",
        f"<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        level = section.level
        parts.append(f"<h{level}>{html.escape(section.heading)}</h{level}>")
        parts += [_html_block(block) for block in section.blocks]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_document(
    directory: Path, title: str, sections: Sequence[Section], name: str = "report"
) -> Path:
    """Write NAME.md and NAME.html into `directory`; return the Markdown file's path."""
    directory = Path(directory)
    (directory / f"{name}.md").write_text(render_markdown(title, sections))
    (directory / f"{name}.html").write_text(render_html(title, sections))
    return directory / f"{name}.md"
