"""The page renderer on states made the way the loop makes them: escaping of every string,
what the state keeps for the page, and the same field lines as ``plan``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from reconciler.apply.run import Result
from reconciler.loop.state import LoopState, PassReport, PassResult, ResourceState
from reconciler.plan.model import Action, Change, FieldDiff, Plan
from reconciler.render import page
from reconciler.render.plan import render_text
from tests.ui.states import EVIL, START, record, thousand

_ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "main",
    "section", "dl", "dt", "dd", "span", "code", "time", "a", "form", "label", "select",
    "option", "button", "table", "caption", "thead", "tbody", "tr", "th", "td", "details",
    "summary", "pre", "br", "footer", "script", "ul", "li",
}  # fmt: skip


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _parsed(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def _hostile(value: Any, payloads: Iterator[str]) -> Any:
    """``value`` with every string replaced by a payload (keys kept: they are the schema)."""
    if isinstance(value, str):
        return next(payloads)
    if isinstance(value, dict):
        return {k: _hostile(v, payloads) for k, v in value.items()}
    if isinstance(value, list):
        return [_hostile(v, payloads) for v in value]
    return value


def _payloads() -> Iterator[str]:
    while True:
        yield EVIL
        yield '"><img src=x onerror=alert(1)>'
        yield "' onmouseover='alert(1)"
        yield "javascript:alert(1)"
        yield "</textarea></pre></details><script>alert(2)</script>"


@pytest.mark.parametrize("status", [*page.STATUSES, "bogus"])
def test_no_string_in_the_state_becomes_markup(status: str) -> None:
    state = thousand()
    state["resources"] = state["resources"][:40]
    hostile = _hostile(state, _payloads())
    for resource in hostile["resources"]:
        resource["status"] = status  # every kind of row
    hostile["last_pass"]["error"] = EVIL
    hostile["last_pass"]["failures"] = [{"address": EVIL, "message": EVIL}]
    pages = [page.render_index(hostile, page.Filters())]
    pages += [page.render_resource(hostile, r) for r in hostile["resources"][:5]]
    pages.append(page.render_message(EVIL, EVIL, links=[(EVIL, EVIL)]))
    for html in pages:
        parsed = _parsed(html)
        assert {tag for tag, _ in parsed.tags} <= _ALLOWED_TAGS
        assert parsed.scripts == [page._JS]  # ours, and nothing else
        for tag, attrs in parsed.tags:
            for name, value in attrs:
                assert not name.startswith("on"), (tag, name)
                if name in ("href", "src", "action", "formaction"):
                    assert not (value or "").lower().startswith("javascript:"), (tag, value)
        assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]


def test_a_console_endpoint_that_is_not_http_makes_no_link() -> None:
    state = thousand(console="javascript:alert(1)//")
    html = page.render_index(state, page.Filters())
    assert "href=c/" not in html
    assert all(page.console_url(r) is None for r in state["resources"])
    assert "href=c/" in page.render_index(thousand(), page.Filters())


@pytest.mark.parametrize(("interval", "refresh"), [(0.3, 2), (30.0, 30), (300.0, 60), (None, 30)])
def test_the_page_refreshes_with_the_loop_within_bounds(
    interval: float | None, refresh: int
) -> None:
    state = record((), interval=interval or 1.0)
    if interval is None:
        del state["loop"]
    assert page.refresh_seconds(state) == refresh
    assert f'<meta http-equiv="refresh" content="{refresh}">' in page.render_index(
        state, page.Filters()
    )


def test_a_new_resource_shows_the_fields_plan_prints() -> None:
    after = {"spec": {"launchPlan": {"name": "daily"}, "inputs": {"month": "2026-11"}}}
    change = Change("Execution/p/d/close-2026-11", Action.CREATE, None, after, reason="new")
    text = io.StringIO()
    render_text(Plan((change,)), text)
    assert '    spec.inputs.month: "2026-11"' in text.getvalue()
    resource = ResourceState.of(change, None, None)
    assert resource.to_json()["diff"] == [
        {"path": "spec.launchPlan.name", "before": None, "after": "daily"},
        {"path": "spec.inputs.month", "before": None, "after": "2026-11"},
    ]
    html = page.render_index(record((resource,)), page.Filters())
    assert 'spec.inputs.month: (none) → "2026-11"' in html
    assert "drifted (create)" in html


def test_a_long_diff_is_short_in_the_row_and_whole_on_its_page() -> None:
    diff = tuple(FieldDiff(f"spec.labels.l{i}", "x" * 100, f"y{i}") for i in range(6))
    change = Change("LaunchPlan/p/d/lp", Action.UPDATE, diff=diff, reason="labels")
    resource = ResourceState.of(change, None, None)
    state = record((resource,))
    row = page.render_index(state, page.Filters())
    assert row.count("spec.labels.l") == page.SHORT_FIELDS
    assert '"' + "x" * (page.SHORT_VALUE - 2) + "…" in row
    assert ">all 6 fields</a>" in row
    whole = page.render_resource(state, state["resources"][0])
    assert whole.count("<code>spec.labels.l") == 6
    assert '"' + "x" * 100 + '"' in whole


def test_the_state_keeps_the_commit_last_applied_and_last_synced() -> None:
    state = LoopState(loop={"interval_seconds": 60.0, "self_heal": True})
    lp = Change("LaunchPlan/p/d/lp", Action.UPDATE, reason="inactive")

    def report(number: int, result: PassResult, commit: str, applied: bool) -> PassReport:
        results = Result(lp, ok=True, message="activated") if applied else None
        resource = ResourceState.of(lp, results, None)
        return PassReport(
            number, START + number, 1.0, result, commit=commit, applied=applied,
            resources=(resource,),
        )  # fmt: skip

    state.record(report(1, PassResult.SYNCED, "a" * 40, applied=True))
    state.record(report(2, PassResult.SYNCED, "a" * 40, applied=False))
    state.record(report(3, PassResult.DRIFTED, "b" * 40, applied=False))
    saved = state.to_json()
    assert saved["last_applied"]["pass"] == 1
    assert saved["last_applied"]["commit"] == "a" * 40
    assert saved["last_synced"]["pass"] == 2
    assert saved["last_pass"]["commit"] == "b" * 40
    assert saved["loop"] == {"interval_seconds": 60.0, "self_heal": True}
    restored = LoopState()
    restored.restore(saved)
    assert restored.to_json()["last_applied"] == saved["last_applied"]
    html = page.render_index(saved, page.Filters())
    assert f'<dt>Commit in git</dt><dd><code title="{"b" * 40}">{"b" * 12}</code>' in html
    assert f'<dt>Last applied</dt><dd><code title="{"a" * 40}">' in html
    assert "by pass 1, " in html
    assert "not the commit in git" in html
