"""Every citation in the repository points into the repository.

Code, data, tests, benchmarks, tools, notebooks, docs and the build files cite the pages in
docs/ by section (for example the reference page's section 5b, or the standards page's
checklist item 9.C.7). A reader who has only the repository must be able to follow each one,
so this fails on:

- a citation of a document the repository does not ship, or a path outside it;
- an issue or pull-request number, which means nothing without the tracker;
- a docs/ citation whose page does not exist, or whose section number or quoted section title
  is not a heading (or a bold checklist item) of that page;
- a link or a repository path in docs/ that leads nowhere.

Forbidden names are assembled from pieces, so this file does not trip over itself.
"""

import re
import subprocess
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = (
    *("sim", "decommission", "data", "tests", "bench", "notebooks", "docs", "tools", "scripts"),
    *("README.md", "Makefile", "pyproject.toml", "setup.py", ".ci"),
)
DOCS = REPO / "docs"

_UNSHIPPED = ("facts", "facade", "ARCHITECTURE", "STYLE")
_STANDARDS = "decommissioning-" + "standards"
FORBIDDEN: dict[str, re.Pattern[str]] = {
    "a document the repository does not ship": re.compile(
        r"\b(?:" + "|".join(re.escape(name + ".md") for name in _UNSHIPPED) + r")"
    ),
    "the Commons Library note cited as the seed file": re.compile(
        r"Library\s+(?:#\s*)?note \(" + r"seed\)|\bSeed \(Commons"
    ),
    "the standards document outside docs/": re.compile(
        r"(?<![\w/.-])" + re.escape(_STANDARDS + ".md")
    ),
    "a path outside the repository": re.compile(
        r"\.\./" + "shared\\b|/work" + "/|\\bshared/" + "reference/"
    ),
    "an issue number": re.compile(
        r"\b[Ii]ssues?\s+#?\d|\b(?:PR|[Pp]ull request|[Bb]ug|[Tt]icket)\s*#\d|\(#\d+\)"
    ),
}

# A section id: 5, 5b, 1.5, 9.C, 9.C.7 (a lower-case letter only right after the number).
SECTION_ID = r"\d+(?:[a-z](?![a-z]))?(?:\.(?:\d+|[A-G](?![a-z])))*"
PAGE = re.compile(r"docs/([\w-]+\.md)")
AFTER_PAGE = re.compile(
    rf"(?:,?[ \t]+(?:s|§|sections?[ \t])?[ \t]?(?P<first>{SECTION_ID})"
    rf"(?:[ \t]*-[ \t]*(?:s|§)?(?P<last>{SECTION_ID}))?(?!\w|,\d)"
    r"|,?[ \t]*[\"'](?P<title>[A-Z][^\"'\n]{1,60})[\"'])"
)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*$", re.M)
BOLD_ITEM = re.compile(rf"^[ \t]*[-*][ \t]+\*\*({SECTION_ID})\*\*", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")
REPO_PATH = re.compile(
    r"\b((?:sim|decommission|data|tests|bench|notebooks|docs)/[\w./*-]*\w\.(?:py|toml|csv|md|ipynb))"
)


@dataclass(frozen=True)
class Finding:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def scanned_files() -> list[Path]:
    """Tracked files and new files git does not ignore; every file under SCANNED without git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *SCANNED],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout.decode()
        files = {REPO / name for name in listed.split("\0") if name}
    except (OSError, subprocess.CalledProcessError):
        files = set()
        for root in SCANNED:
            path = REPO / root
            files |= set(path.rglob("*")) if path.is_dir() else {path}
    return sorted(f for f in files if f.is_file() and "__pycache__" not in f.parts)


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def forbidden(text: str, where: str, in_docs: bool) -> Iterator[Finding]:
    for what, pattern in FORBIDDEN.items():
        if in_docs and what == "the standards document outside docs/":
            continue  # inside docs/ a page is named relative to docs/ (links are checked)
        for match in pattern.finditer(text):
            yield Finding(f"{where}:{line_of(text, match.start())}", f"{what}: {match[0]!r}")


def numbered_comments(path: Path, where: str) -> Iterator[Finding]:
    """A Python comment holding `#123`: a tracker reference, whatever word precedes it."""
    with path.open("rb") as source:
        try:
            tokens = list(tokenize.tokenize(source.readline))
        except (tokenize.TokenError, SyntaxError):
            return
    for token in tokens:
        if token.type == tokenize.COMMENT and re.search(r"#\d", token.string[1:]):
            yield Finding(f"{where}:{token.start[0]}", f"an issue number: {token.string!r}")


@cache
def page_sections(page: str) -> tuple[frozenset[str], tuple[str, ...]] | None:
    """The section ids and the section titles (lower case) of docs/PAGE, or None if absent."""
    path = DOCS / page
    if not path.is_file():
        return None
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    ids, titles = set(BOLD_ITEM.findall(text)), []
    for heading in HEADING.findall(text):
        numbered = re.match(rf"({SECTION_ID})\.?[ \t]+(.*)", heading)
        if numbered:
            ids.add(numbered[1])
            heading = numbered[2]
        titles.append(heading.strip().lower())
    return frozenset(ids), tuple(titles)


def citations(text: str, where: str) -> Iterator[Finding]:
    for match in PAGE.finditer(text):
        page = match[1]
        at = f"{where}:{line_of(text, match.start())}"
        sections = page_sections(page)
        if sections is None:
            yield Finding(at, f"docs/{page} does not exist")
            continue
        ids, titles = sections
        after = AFTER_PAGE.match(text, match.end())
        if after is None:
            continue
        for cited in (after["first"], after["last"]):
            if cited and cited not in ids:
                yield Finding(at, f"docs/{page} has no section {cited}")
        title = after["title"]
        if title and not any(t == title.lower() or t.startswith(title.lower()) for t in titles):
            yield Finding(at, f"docs/{page} has no section titled {title!r}")


def doc_references(path: Path, text: str, where: str) -> Iterator[Finding]:
    """Links and repository paths in a docs page must lead to something that exists."""
    for match in LINK.finditer(text):
        target = match[1].split("#", 1)[0]
        if target and "://" not in target and not (path.parent / target).exists():
            yield Finding(f"{where}:{line_of(text, match.start())}", f"broken link {match[1]}")
    for match in REPO_PATH.finditer(text):
        if not list(REPO.glob(match[1])):
            yield Finding(f"{where}:{line_of(text, match.start())}", f"no such file {match[1]}")


def findings(path: Path) -> list[Finding]:
    text = read_text(path)
    if text is None:
        return []
    where = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)
    in_docs = path.parent == DOCS
    found = [*forbidden(text, where, in_docs), *citations(text, where)]
    if path.suffix == ".py":
        found += numbered_comments(path, where)
    if path.suffix == ".md" and in_docs:
        found += doc_references(path, text, where)
    return found


def test_every_citation_points_into_the_repository():
    found = [str(f) for path in scanned_files() for f in findings(path)]
    assert not found, "citations the repository cannot follow:\n" + "\n".join(found)


def test_the_docs_pages_exist_with_the_sections_code_relies_on():
    for page, section in [
        ("reference.md", "5b"),
        ("reference.md", "10"),
        (_STANDARDS + ".md", "9.C.7"),
        (_STANDARDS + ".md", "3.3"),
        ("index-design.md", "7"),
    ]:
        sections = page_sections(page)
        assert sections is not None and section in sections[0], (page, section)
    assert page_sections("architecture.md") is not None
    assert page_sections("README.md") is not None


# Planted violations, each assembled at run time: the checks above must catch every one.
PLANTED_BAD = [
    "see " + "facts" + ".md 5b",
    "see " + "facade" + ".md",
    "(" + _STANDARDS + ".md 9.C.7)",
    "see " + "ARCHITECTURE" + ".md",
    "see " + "STYLE" + ".md",
    "read ../" + "shared/reference",
    "Seed" + " (Commons Library note): WMS",
    "Commons Library note (" + "seed) s1",
    "Commons Library\n# note (" + "seed)",
    "as issue" + " 3 item 4 asks",
    "(Issue" + " 7)",
    "fixed in (" + "#141)",
    "docs/" + "reference.md 99z",
    "docs/" + "reference.md s5i",
    "docs/" + _STANDARDS + ".md 9.C.42",
    "docs/" + "reference.md 5a-5q",
    "docs/" + "architecture.md, " + '"The misplaced child"',
    "docs/" + "nowhere.md",
]
PLANTED_GOOD = [
    "docs/" + "reference.md 5b",
    "docs/" + "reference.md s3: ONS",
    "docs/" + "reference.md section 5h",
    "docs/" + "reference.md 5a-5b",
    "docs/" + _STANDARDS + ".md 9.C.7 and 9.B.5",
    "docs/" + _STANDARDS + ".md 3.3 row 2",
    "docs/" + "index-design.md, " + '"Performance"',
    "docs/" + "architecture.md " + "'The lost child'",
    "each authority issues IDs; 3 issues remain open in no tracker",
]


@pytest.mark.parametrize("text", PLANTED_BAD)
def test_a_planted_violation_is_found(tmp_path, text):
    planted = tmp_path / "planted.toml"
    planted.write_text(f'source = "{text}"\n')
    assert findings(planted), text


@pytest.mark.parametrize("text", PLANTED_GOOD)
def test_a_good_citation_passes(tmp_path, text):
    planted = tmp_path / "planted.toml"
    planted.write_text(f'source = "{text}"\n')
    assert not findings(planted), [str(f) for f in findings(planted)]


def test_a_numbered_python_comment_is_found(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("x = 1  # see " + "#" + "12 for why\ncolour = '#999'\n")
    assert [f.where.rsplit(":", 1)[1] for f in findings(planted)] == ["1"]
