"""The README and docs/*.md name only files that exist: every backticked repository path and
every relative link (its anchor too, when it points into a markdown file)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# the first word of a backticked span, when it starts at a top-level folder or file of the repo
_ROOTS = (
    ".ci/",
    "bench/",
    "clients/",
    "deploy/",
    "docs/",
    "k8s/",
    "scripts/",
    "services/",
    "streams/",
    "tests/",
    "Dockerfile",
    "Makefile",
    "docker-compose.yml",
    "pyproject.toml",
)
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _prose(path: Path) -> str:
    """The text outside fenced blocks (those show commands and output, not references)."""
    return _FENCE.sub("", path.read_text(encoding="utf-8"))


def _code_paths(text: str) -> set[str]:
    paths = set()
    for span in _CODE.findall(text):
        word = span.split()[0] if span.split() else ""
        word = re.split(r"::|:\d|#", word)[0].rstrip(".,;:)")
        if word.startswith(_ROOTS) and not any(c in word for c in "*<>{}…|$"):
            paths.add(word)
    return paths


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for a markdown file's headings."""
    anchors = set()
    for line in _prose(path).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_backticked_paths_exist(doc: Path) -> None:
    missing = sorted(p for p in _code_paths(_prose(doc)) if not (ROOT / p).exists())
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_exist(doc: Path) -> None:
    broken = []
    for link in _LINK.findall(_prose(doc)):
        if re.match(r"[a-z]+:", link):  # http:, https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        file = (doc.parent / target).resolve() if target else doc
        if not file.exists():
            broken.append(link)
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(link)
    assert broken == []
