"""``reconciler reconcile`` serves the status page: a real loop on the local Admin over gRPC,
its page over real HTTP on loopback (no browser)."""

from __future__ import annotations

import html

from reconciler.render.page import resource_id
from tests.loop.conftest import SECRET_REGION, deactivate, eventually
from tests.ui.conftest import DAILY, NIGHTLY, get, rows
from tests.ui.states import CONSOLE, EVIL


def _page(loop, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    response = loop.get(path)
    assert response.status == 200, response.body
    return str(response.body)


def test_the_loop_serves_its_state_as_the_status_page(watched, stub) -> None:  # type: ignore[no-untyped-def]
    loop = watched.loop
    page = _page(loop)
    assert set(rows(page)) >= {
        ("drifted", resource_id(NIGHTLY), "nightly"),
        ("synced", resource_id(DAILY), "daily"),
        ("synced", resource_id("LaunchPlan/flytesnacks/development/hourly"), "hourly"),
        ("synced", resource_id("LaunchPlan/flytesnacks/development/adhoc"), "adhoc"),
    }
    assert "<summary>drifted (create)</summary>" in page
    # the commits: the one in git, the one the --self-heal pass applied
    assert f'<dt>Commit in git</dt><dd><code title="{watched.head}">' in page
    assert f'<dt>Last applied</dt><dd><code title="{watched.applied}">' in page
    assert "by pass 1, " in page
    assert "not the commit in git" in page
    assert "<dt>Apply</dt><dd>not applied: report only (no --self-heal)</dd>" in page
    # the manifest's annotation is text (on the new launch plan's page: all its fields)
    nightly = _page(loop, f"/r/{resource_id(NIGHTLY)}")
    assert "<code>annotations.runbook</code>" in nightly
    assert f"<pre>{html.escape(EVIL, quote=False)}</pre>" not in nightly  # JSON, quoted
    assert f'<pre>"{html.escape(EVIL, quote=False)}"</pre>' in nightly
    assert "<script>alert" not in page + nightly
    # a console link per launch plan and run, through a redirect
    redirect = get(loop.url + f"/c/{resource_id(DAILY)}")
    assert redirect.status == 302
    assert redirect.headers["Location"] == (
        f"{CONSOLE}/console/projects/flytesnacks/domains/development/launchPlans/daily"
    )
    run = get(loop.url + f"/c/{resource_id('Execution/flytesnacks/development/report-2026-11')}")
    assert run.headers["Location"].endswith("/domains/development/executions/report-2026-11")

    # drift behind git's back shows at the next pass, with its diff and its own page
    deactivate(stub)
    page = eventually(
        lambda: (p := _page(loop)) and ("drifted", resource_id(DAILY), "daily") in rows(p) and p,
        "the drift on the page",
    )
    assert "spec.active: false → true" in page
    resource = _page(loop, f"/r/{resource_id(DAILY)}")
    assert "<h2>LaunchPlan/flytesnacks/development/daily</h2>" in resource
    assert "<td><pre>false</pre></td><td><pre>true</pre></td>" in resource
    by_address = _page(loop, "/resource/" + DAILY)
    assert "<td><pre>false</pre></td><td><pre>true</pre></td>" in by_address
    assert '<a href="../../../../">← all resources</a>' in by_address
    drifted = rows(_page(loop, "/?status=drifted&kind=LaunchPlan"))
    assert sorted(name for _, _, name in drifted) == ["daily", "nightly"]
    # the secret behind ${env:LOOP_REGION} is on no page
    for path in ("/", f"/r/{resource_id(DAILY)}", "/?status=synced"):
        assert SECRET_REGION not in _page(loop, path)
    assert loop.get("/metrics").status == 200
