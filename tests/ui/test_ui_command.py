"""``reconciler ui STATEFILE``: the status page of a saved state over real HTTP, no browser."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from reconciler.loop.state import write_state_file
from reconciler.render.page import resource_id
from tests.loop.conftest import eventually
from tests.ui.conftest import post
from tests.ui.conftest import rows as _rows
from tests.ui.states import CONSOLE, thousand


def test_a_thousand_resources_make_a_page_under_100_kb(serve_ui) -> None:  # type: ignore[no-untyped-def]
    state = thousand()
    ui = serve_ui(state)
    response = ui.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    size = len(response.body.encode("utf-8"))
    assert size < 100_000, f"{size} bytes"
    rows = _rows(response.body)
    assert len(rows) == 1000
    by_status = {s: sum(1 for r in state["resources"] if r["status"] == s) for s in ("drifted",)}
    assert sum(1 for css, _, _ in rows if css == "drifted") == by_status["drifted"] > 0
    assert sorted(name for _, _, name in rows) == sorted(r["name"] for r in state["resources"])
    # every row out of sync carries its diff, collapsed
    assert response.body.count("<details ") == sum(1 for css, _, _ in rows if css != "synced")
    assert response.body.count("<details open") == 0


def test_the_page_is_accessible_markup(serve_ui) -> None:  # type: ignore[no-untyped-def]
    page = serve_ui(thousand()).get("/").body
    assert page.startswith('<!doctype html>\n<html lang="en">')
    assert '<meta http-equiv="refresh" content="60">' in page  # a 5-minute loop, bounded
    assert page.count("<caption>") == 2  # resources, passes
    assert '<th scope="col">Resource</th><th scope="col">Status</th>' in page
    assert '<th scope="rowgroup" colspan="2">LaunchPlan flytesnacks/production</th>' in page
    for name in ("kind", "project", "domain", "status"):
        assert f'<label for="f-{name}">' in page
        assert f'<select id="f-{name}" name="{name}">' in page
    # status in words, not colour alone
    assert re.search(r"<tr class=drifted><th>.*<summary>drifted \(update\)</summary>", page)
    assert re.search(r"<tr><th><a href=c/\w+>[^<]+</a><td>synced$", page, re.MULTILINE)


def test_filters_are_query_parameters(serve_ui) -> None:  # type: ignore[no-untyped-def]
    state = thousand()
    ui = serve_ui(state)
    page = ui.get("/?kind=LaunchPlan&status=drifted").body
    wanted = sorted(
        r["name"]
        for r in state["resources"]
        if r["kind"] == "LaunchPlan" and r["status"] == "drifted"
    )
    rows = _rows(page)
    assert sorted(name for _, _, name in rows) == wanted
    assert {css for css, _, _ in rows} == {"drifted"}
    assert "<option selected>LaunchPlan</option>" in page
    assert "<option selected>drifted</option>" in page
    assert f"{len(wanted)} of 1000 resources (kind LaunchPlan; status drifted)" in page
    # several values, and empty ones (a form submitted as it is) mean all
    two = _rows(ui.get("/?status=failed&status=conflict&kind=&project=").body)
    assert {css for css, _, _ in two} == {"failed", "conflict"}
    assert len(_rows(ui.get("/?kind=&project=&domain=&status=").body)) == 1000
    nothing = ui.get("/?project=no-such-project")
    assert nothing.status == 200
    assert "No resource matches." in nothing.body
    bad = ui.get("/?status=broken")
    assert bad.status == 400
    assert "unknown status broken: one of synced, drifted, conflict, waiting, failed" in bad.body


def test_a_resource_page_has_the_whole_diff_and_the_console_a_redirect(serve_ui) -> None:  # type: ignore[no-untyped-def]
    state = thousand()
    conflict = next(r for r in state["resources"] if r["status"] == "conflict")
    ui = serve_ui(state)
    ident = resource_id(conflict["address"])
    page = ui.get(f"/r/{ident}")
    assert page.status == 200
    assert f"<h2>{conflict['address']}</h2>" in page.body
    assert conflict["reason"] in page.body
    assert '<code>spec.schedule.cron</code></th><td><pre>"0 6 * * *"</pre></td>' in page.body
    assert '<a href="../">← all resources</a>' in page.body
    by_address = ui.get("/resource/" + conflict["address"])
    assert by_address.status == 200
    assert '<a href="../../../../">← all resources</a>' in by_address.body
    assert by_address.body.replace("../../../../", "../") == page.body
    console = ui.get(f"/c/{ident}")
    assert console.status == 302
    assert console.headers["Location"] == conflict["console_url"]
    assert console.headers["Location"].startswith(f"{CONSOLE}/console/projects/")
    assert ui.get("/r/0000000000").status == 404
    missing = ui.get("/resource/LaunchPlan/flytesnacks/production/gone")
    assert missing.status == 404
    assert "No resource LaunchPlan/flytesnacks/production/gone" in missing.body


def test_ui_is_read_only_and_serves_the_file_as_json(serve_ui) -> None:  # type: ignore[no-untyped-def]
    state = thousand()
    ui = serve_ui(state)
    served = json.loads(ui.get("/api/state").body)
    assert served["resources"] == json.loads(json.dumps(state["resources"]))
    assert post(ui.url + "/hooks/git", b"{}") == 404
    assert ui.get("/metrics").status == 404
    assert ui.get("/readyz").status == 404
    assert ui.get("/healthz").status == 200
    assert "Read-only view of the state file" in ui.get("/").body
    ui.stop()
    assert ui.process.returncode == 0


def test_ui_follows_the_state_file_as_the_loop_rewrites_it(serve_ui, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ui = serve_ui(thousand())
    assert "(pass 50, " in ui.get("/").body
    later = thousand()
    later["last_pass"] = {**later["last_pass"], "pass": 51}
    write_state_file(tmp_path / "state.json", later)
    eventually(lambda: "(pass 51, " in ui.get("/").body, "the page to show pass 51")
    (tmp_path / "state.json").write_text("{half a fi")  # a copy in progress
    assert "(pass 51, " in ui.get("/").body


def test_ui_refuses_what_is_not_a_state_file(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = run_cli("ui", tmp_path / "nope.json", "--listen", "127.0.0.1:0")
    assert missing.code == 1
    assert "not a state file of `reconciler reconcile`" in missing.err
    plan = tmp_path / "plan.json"
    plan.write_text('{"format_version": 1, "changes": []}')
    saved_plan = run_cli("ui", plan, "--listen", "127.0.0.1:0")  # also format_version 1
    assert saved_plan.code == 1
    assert "not a state file" in saved_plan.err


def test_the_page_escapes_what_a_state_file_holds(serve_ui) -> None:  # type: ignore[no-untyped-def]
    state = thousand()
    evil = '<img src=x onerror="alert(1)">'
    state["resources"][0].update(name=evil, reason=evil, status="drifted", action="update")
    state["resources"][0]["diff"] = [{"path": evil, "before": evil, "after": evil}]
    state["last_pass"]["error"] = evil
    page = serve_ui(state).get("/?status=drifted").body
    assert "<img" not in page
    assert html.escape(evil, quote=False) in page


def test_the_readme_shows_the_page_in_a_small_screenshot() -> None:
    from tests.ui.conftest import REPO

    picture = REPO / "docs" / "status-page.png"
    assert "](docs/status-page.png)" in (REPO / "README.md").read_text("utf-8")
    assert picture.read_bytes().startswith(b"\x89PNG")
    assert picture.stat().st_size < 200_000
