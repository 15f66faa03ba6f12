"""The README's map stays true: its contents list every section, and its links resolve.

Several people add sections to the README; this keeps the newcomer's table of
contents and its in-page links from going stale, and the protocol link pointing
at the page in the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def slug(title: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def headings() -> list[tuple[int, str]]:
    body, in_code = [], False
    for line in README.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (m := re.match(r"^(##+) (.+)$", line)):
            body.append((len(m.group(1)), m.group(2).strip()))
    return body


def contents() -> list[str]:
    block = README.split("## Contents", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"\]\(#([^)]+)\)", block)


def test_the_contents_list_every_section_and_subsection_in_order() -> None:
    listed = contents()
    wanted = [slug(t) for level, t in headings() if level in (2, 3) and t != "Contents"]
    assert listed == wanted


def test_every_in_page_link_names_a_heading() -> None:
    anchors = {slug(t) for _, t in headings()}
    targets = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert targets - anchors == set()


def test_every_link_to_a_repository_file_exists() -> None:
    paths = {
        p.split("#")[0]
        for p in re.findall(r"\]\(([^)#:]+(?:#[^)]*)?)\)", README)
        if not p.startswith(("http", "mailto"))
    }
    missing = sorted(p for p in paths if p and not (ROOT / p).exists())
    assert missing == []


def test_the_protocol_link_is_the_page_in_the_repository() -> None:
    assert "[AgentDraft protocol v0.1](docs/protocol.md)" in README
    assert (ROOT / "docs" / "protocol.md").exists()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
