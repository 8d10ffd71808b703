"""The docs point at things that exist: every relative link in README.md and docs/**/*.md reaches a file (and a
`#anchor` a heading of it), every repository path in backticks exists, README stays a front door (≤ 150 lines),
and README's map names exactly the package's subpackages.

Code moves under the docs' feet (the package was reorganised into subpackages once already); these tests name the
stale path instead of leaving a reader to find it.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PACKAGE = ROOT / "plugins" / "tenant_integrity"
README_MAX_LINES = 150

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
# the repository's top-level folders a path in backticks may start with
REPO_PATH = re.compile(r"^(?:plugins|tests|dags|include|docs|scripts|expectations|benchmarks)/[^\s]*$")
PLACEHOLDER = re.compile(r"[<>{}$…]")  # `tests/<role>/`, `<base>/…`: a pattern, not a path


def markdown_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").rglob("*.md"))]


def without_fences(text: str) -> str:
    """The prose: fenced code blocks hold commands and output, not links or paths to check."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces become hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading: its text
    text = text.lower()
    kept = "".join(
        ch
        for ch in text
        if ch in " -_" or unicodedata.category(ch)[0] in "LN"  # letters, digits (any script)
    )
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, … as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(without_fences(path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in LINK.findall(without_fences(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto: — not a file of the repository
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}: ({target})"
        if not resolved.exists():
            problems.append(f"{where} -> {file_part} does not exist")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where} -> no heading with anchor #{anchor} in {resolved.relative_to(ROOT)}")
    return problems


def missing_paths(path: Path) -> list[str]:
    problems = []
    for _, code in INLINE_CODE.findall(without_fences(path.read_text(encoding="utf-8"))):
        candidate = code.strip().split("::", 1)[0]  # a test id names its file
        if not REPO_PATH.match(candidate) or PLACEHOLDER.search(candidate):
            continue
        if not any(ROOT.glob(candidate.rstrip("/"))):  # `dags/*.py`, `expectations/validation_*.json`
            problems.append(f"{path.relative_to(ROOT)}: `{code}` does not exist")
    return problems


def subpackages() -> set[str]:
    return {p.parent.name for p in PACKAGE.glob("*/__init__.py")}


def readme_map(text: str) -> set[str]:
    """The folders README's map names: the first column of the '## Map' section's table headed `| folder |`."""
    section = re.search(r"^## Map\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, "README has no '## Map' section"
    tables = re.findall(r"(?:^\|.*\n?)+", section.group(1), re.M)
    table = next((t for t in tables if re.match(r"\|\s*folder\s*\|", t)), "")
    assert table, "README's map has no table headed | folder |"
    return set(re.findall(r"^\|\s*`([a-z_]+)/`\s*\|", table, re.M))


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_and_its_heading(path):
    assert broken_links(path) == []


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_in_backticks_exists(path):
    assert missing_paths(path) == []


def test_readme_is_a_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_map_names_exactly_the_subpackages():
    assert readme_map(README.read_text(encoding="utf-8")) == subpackages()


def test_the_checks_catch_what_they_exist_for(tmp_path, monkeypatch):
    """Each check fails on its bug: a link to a moved file, a stale anchor, a stale path, a map short of a role."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "engine.py").write_text("")
    target = tmp_path / "docs" / "target.md"
    target.write_text("# Title\n\n## The rules, step 2\n\n## The rules, step 2\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "[ok](target.md#the-rules-step-2) [twice](target.md#the-rules-step-2-1) [self](#a-heading)\n"
        "[gone](moved.md) [stale](target.md#the-rules)\n\n# A heading\n\n"
        "`plugins/engine.py` `plugins/engine/runner.py` `tests/<role>/` `plugins/*.py`\n"
        "```\n[in a fence](nowhere.md) `plugins/nowhere.py`\n```\n"
    )
    assert broken_links(page) == [
        "docs/page.md: (moved.md) -> moved.md does not exist",
        "docs/page.md: (target.md#the-rules) -> no heading with anchor #the-rules in docs/target.md",
    ]
    assert missing_paths(page) == ["docs/page.md: `plugins/engine/runner.py` does not exist"]
    assert slug("3. Give the run's user the `least` privileges") == "3-give-the-runs-user-the-least-privileges"
    full_map = (
        "## Map\n\n| folder | what |\n| --- | --- |\n| `core/` | x |\n| `store/` | y |\n\n"
        "| path | what |\n| --- | --- |\n| `dags/` | z |\n\n## Next\n\n| folder | what |\n| `ui/` | z |\n"
    )
    assert readme_map(full_map) == {"core", "store"}
    assert readme_map(full_map) != subpackages()  # a map short of the package's roles fails the map test
