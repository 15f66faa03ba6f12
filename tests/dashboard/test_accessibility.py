"""axe-core's WCAG 2 A/AA rules on the sign-in, Agents and Rules pages, wide and phone width.

axe checks what a person with a screen reader or low vision meets first: every input
has a label, contrast is high enough, landmarks and headings make sense, ids are unique.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import Dash

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
WIDTHS = {"wide": (1200, 800), "phone": (390, 844)}


def violations(dash: Dash) -> list[str]:
    """axe's findings on the current page, one line each (rule, impact, first node)."""
    if not dash.page.evaluate("typeof axe !== 'undefined'"):
        # Evaluated by the test harness, not a page script, so the page's CSP allows it.
        dash.page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = dash.page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact,"
        " node: v.nodes[0].html})))"
    )
    return [f"{v['id']} ({v['impact']}): {v['node'][:160]}" for v in found]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_pages_pass_axe(dash: Dash, width: str) -> None:
    dash.page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    dash.go("/dashboard/sign-in")
    assert violations(dash) == []
    dash.sign_in()
    for name in ("One", "Two"):
        dash.page.get_by_label("Name", exact=True).fill(name)
        dash.page.get_by_role("button", name="Create agent").click()
        dash.page.locator("section.reveal").wait_for()
    assert violations(dash) == []  # with the shown-once key on the page
    dash.go("/dashboard/rules")
    dash.page.get_by_label("Only book me in working hours").check()
    dash.page.get_by_label("Monday interval 1 until").fill("08:00")
    dash.page.get_by_role("button", name="Save rules").click()
    dash.page.locator("#err-working_hours").wait_for()
    assert violations(dash) == []  # with an error shown next to its field
    dash.shot(f"rules-{width}")


def test_axe_does_flag_an_unlabelled_input_and_poor_contrast(dash: Dash) -> None:
    """The check above can fail: the same call on a bad page reports both problems."""
    dash.page.set_content(
        "<!doctype html><html lang='en'><head><title>bad</title></head><body><main>"
        "<h1>Bad</h1><input type='text'><p style='color:#bbb;background:#fff'>faint</p>"
        "</main></body></html>"
    )
    found = " ".join(violations(dash))
    assert "label" in found and "color-contrast" in found
