"""deploy/github/reconciler.yml and deploy/gitlab/.gitlab-ci.yml: valid for their platform
(the schemas check-jsonschema ships, offline), the jobs and triggers they promise, and their
scripts run for real in bash (as the runners run them) with a stand-in ``reconciler`` that
exits 0, 1, 2 or 3, a stand-in ``gh``, and a loopback GitLab notes API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.deploy.recipes import GITHUB_WORKFLOW, GITLAB_CI, gitlab_jobs, load_documents

MARKER = "<!-- flyte-reconciler-plan -->"
PLAN_MARKDOWN = "### Flyte reconciler plan\n\n**Plan: 1 to create.**\n"
# plan --detailed-exitcode: 0 no changes, 2 changes, 3 conflicts, 1 error; the check passes
# for 0 and 2 only.
EXIT_CODES = [(0, 0), (2, 0), (3, 1), (1, 1)]

FAKE_RECONCILER = f"""#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG"
if [ "$1" = plan ]; then
  printf '{PLAN_MARKDOWN.replace(chr(10), chr(92) + "n")}'
  echo "error: GetVersion: cannot reach FlyteAdmin" >&2
  exit "${{FAKE_PLAN_EXIT:-0}}"
fi
"""

FAKE_GH = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_GH_LOG"
for word in "$@"; do
  case "$word" in
    --jq) printf '%s' "$FAKE_GH_IDS"; exit 0 ;;
    body=@*) cp "${word#body=@}" "$FAKE_GH_BODY" ;;
  esac
done
"""


def workflow() -> dict[Any, Any]:
    return dict(load_documents(GITHUB_WORKFLOW)[0])


def step(job: str, name: str) -> dict[str, Any]:
    (found,) = [s for s in workflow()["jobs"][job]["steps"] if s.get("name") == name]
    return dict(found)


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A bin directory with stand-ins for ``reconciler`` and ``gh``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("reconciler", FAKE_RECONCILER), ("gh", FAKE_GH)):
        (bin_dir / name).write_text(text, "utf-8")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def run_bash(
    script: str, cwd: Path, tools: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """As GitHub Actions (``bash --noprofile --norc -eo pipefail``) and GitLab's bash shell
    (``set -eo pipefail``) run a script."""
    environment = {
        "PATH": os.pathsep.join([str(tools), str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(cwd),
        "FAKE_LOG": str(cwd / "reconciler.log"),
        "FAKE_GH_LOG": str(cwd / "gh.log"),
        "FAKE_GH_BODY": str(cwd / "gh-body.md"),
        **env,
    }
    path = cwd / "step.sh"
    path.write_text(script, "utf-8")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    """SchemaStore's schema for the file, as vendored in check-jsonschema: nothing is fetched."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-workflows", GITHUB_WORKFLOW), ("vendor.gitlab-ci", GITLAB_CI)],
    ids=["github", "gitlab"],
)
def test_ci_files_are_valid_for_their_platform(schema: str, path: Path) -> None:
    done = check_jsonschema(schema, path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_schema_check_rejects_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / ".gitlab-ci.yml"
    text = GITLAB_CI.read_text("utf-8")
    broken.write_text(text.replace("resource_group:", "resource-group:"), "utf-8")
    done = check_jsonschema("vendor.gitlab-ci", broken)
    assert done.returncode == 1
    assert "'resource-group' was unexpected" in done.stdout


# --- GitHub Actions ---------------------------------------------------------------------


def test_github_workflow_plans_pull_requests_and_applies_pushes_to_main() -> None:
    wf = workflow()
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"]["branches"] == ["main"]
    assert set(wf["jobs"]) == {"plan", "apply"}
    assert wf["permissions"] == {"contents": "read"}
    # as the tests run the steps: bash -eo pipefail (the default without it has no pipefail)
    assert wf["defaults"]["run"]["shell"] == "bash"
    for name in ("FLYTE_CREDENTIALS_CLIENT_ID", "FLYTE_CREDENTIALS_CLIENT_SECRET"):
        assert wf["env"][name] == "${{ secrets." + name + " }}"

    plan = wf["jobs"]["plan"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert plan["permissions"]["pull-requests"] == "write"
    assert "--detailed-exitcode" in step("plan", "Plan")["run"]
    assert "-o markdown" in step("plan", "Plan")["run"]
    names = [s.get("name", s.get("uses")) for s in plan["steps"]]
    assert names.index("Plan") < names.index("Post the plan on the pull request")
    assert names[-1] == "Check the plan's exit code"
    # posted and kept even when the plan has conflicts or failed
    for name in ("Post the plan on the pull request", "Keep the plan"):
        assert "steps.plan.outcome == 'success'" in step("plan", name)["if"]

    apply = wf["jobs"]["apply"]
    assert apply["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert 'reconciler apply "$MANIFESTS" --auto-approve' in step("apply", "Apply")["run"]
    assert "permissions" not in apply  # the workflow's read-only token


@pytest.mark.parametrize(("plan_exit", "check_exit"), EXIT_CODES)
def test_github_plan_step_records_the_exit_code_and_the_check_fails_on_conflicts_and_errors(
    tmp_path: Path, tools: Path, plan_exit: int, check_exit: int
) -> None:
    output = tmp_path / "github_output"
    env = {"MANIFESTS": "manifests", "GITHUB_OUTPUT": str(output), "FAKE_PLAN_EXIT": str(plan_exit)}
    planned = run_bash(step("plan", "Plan")["run"], tmp_path, tools, env)
    assert planned.returncode == 0, planned.stderr  # the plan step itself never fails
    assert output.read_text("utf-8") == f"exitcode={plan_exit}\n"
    assert (tmp_path / "plan.md").read_text("utf-8") == PLAN_MARKDOWN
    assert (tmp_path / "reconciler.log").read_text("utf-8") == (
        "plan manifests -o markdown --detailed-exitcode\n"
    )

    checked = run_bash(
        step("plan", "Check the plan's exit code")["run"], tmp_path, tools, {"CODE": str(plan_exit)}
    )
    assert checked.returncode == check_exit, checked.stdout
    if plan_exit == 3:
        assert "::error title=Flyte plan::conflicts" in checked.stdout


@dataclass
class Posted:
    calls: list[str]
    body: str


def post_github_comment(workdir: Path, tools: Path, code: int, existing_ids: str) -> Posted:
    workdir.mkdir()
    (workdir / "plan.md").write_text(PLAN_MARKDOWN, "utf-8")
    (workdir / "plan.err").write_text("error: GetVersion: cannot reach FlyteAdmin\n", "utf-8")
    env = {
        "CODE": str(code),
        "PR": "42",
        "HEAD_SHA": "0123abc",
        "GH_TOKEN": "token",
        "FAKE_GH_IDS": existing_ids,
        "GITHUB_REPOSITORY": "org/manifests",
        "GITHUB_RUN_ID": "99",
        "GITHUB_SERVER_URL": "https://github.com",
    }
    done = run_bash(step("plan", "Post the plan on the pull request")["run"], workdir, tools, env)
    assert done.returncode == 0, done.stderr
    calls = (workdir / "gh.log").read_text("utf-8").splitlines()
    return Posted(calls, (workdir / "gh-body.md").read_text("utf-8"))


def test_github_comment_updates_the_existing_plan_comment(tmp_path: Path, tools: Path) -> None:
    posted = post_github_comment(tmp_path / "run", tools, 2, "1001\n1002\n")
    assert posted.calls[0].startswith("api --paginate repos/org/manifests/issues/42/comments")
    assert f'startswith("{MARKER}")' in posted.calls[0]
    assert posted.calls[1] == (
        "api --method PATCH repos/org/manifests/issues/comments/1002 -F body=@comment.md"
    )
    assert posted.body.startswith(MARKER + "\n")
    assert PLAN_MARKDOWN in posted.body
    assert "0123abc" in posted.body


def test_github_comment_is_created_once_and_carries_conflicts_and_errors(
    tmp_path: Path, tools: Path
) -> None:
    posted = post_github_comment(tmp_path / "conflicts", tools, 3, "")
    assert posted.calls[1] == (
        "api --method POST repos/org/manifests/issues/42/comments -F body=@comment.md"
    )
    assert "Conflicts" in posted.body
    assert PLAN_MARKDOWN in posted.body

    failed = post_github_comment(tmp_path / "error", tools, 1, "")
    assert "plan failed (exit 1)" in failed.body
    assert "cannot reach FlyteAdmin" in failed.body


# --- GitLab CI ------------------------------------------------------------------------------


def gitlab() -> dict[str, Any]:
    return dict(load_documents(GITLAB_CI)[0])


def test_gitlab_pipeline_plans_merge_requests_and_applies_the_default_branch() -> None:
    ci = gitlab()
    jobs = gitlab_jobs()
    assert ci["stages"] == ["validate", "plan", "apply"]
    assert {name: job["stage"] for name, job in jobs.items()} == {
        "validate": "validate",
        "plan": "plan",
        "apply": "apply",
    }
    assert "rules" not in jobs["validate"]  # validates every pipeline
    assert jobs["plan"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert jobs["apply"]["rules"] == [
        {"if": '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"'}
    ]
    assert jobs["apply"]["resource_group"]
    assert jobs["apply"]["script"] == ['reconciler apply "$MANIFESTS" --auto-approve']
    assert jobs["plan"]["artifacts"]["when"] == "always"
    assert jobs["plan"]["artifacts"]["paths"] == ["plan.md"]
    # GitPython needs the git executable, which the -slim images lack
    assert "slim" not in ci["default"]["image"]


def gitlab_plan_script() -> str:
    return "\n".join(gitlab_jobs()["plan"]["script"])


@pytest.mark.parametrize(("plan_exit", "job_exit"), EXIT_CODES)
def test_gitlab_plan_job_fails_on_conflicts_and_errors_and_keeps_the_plan(
    tmp_path: Path, tools: Path, plan_exit: int, job_exit: int
) -> None:
    env = {"MANIFESTS": "manifests", "FAKE_PLAN_EXIT": str(plan_exit)}
    done = run_bash(gitlab_plan_script(), tmp_path, tools, env)
    assert done.returncode == job_exit, done.stdout + done.stderr
    assert (tmp_path / "plan.md").read_text("utf-8") == PLAN_MARKDOWN
    assert "GITLAB_API_TOKEN is not set" in done.stdout
    comment = (tmp_path / "comment.md").read_text("utf-8")
    assert comment.startswith(MARKER + "\n")
    if plan_exit == 3:
        assert "Conflicts" in comment
    if plan_exit == 1:
        assert "cannot reach FlyteAdmin" in comment


@dataclass
class NotesApi:
    """GitLab's merge-request notes endpoints on loopback, recording what was asked."""

    notes: list[dict[str, Any]]
    requests: list[tuple[str, str, Any]] = field(default_factory=list)


@pytest.fixture
def notes_api() -> Iterator[tuple[NotesApi, str]]:
    api = NotesApi(notes=[])

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            assert self.headers["PRIVATE-TOKEN"] == "glpat-test"
            api.requests.append((self.command, self.path, body))
            return body

        def do_GET(self) -> None:
            self._record()
            page = int(parse_qs(urlsplit(self.path).query)["page"][0])
            self._reply(api.notes if page == 1 else [])

        def do_POST(self) -> None:
            self._reply({"id": 1, **self._record()})

        def do_PUT(self) -> None:
            self._reply({"id": 1, **self._record()})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()


def run_gitlab_plan_with_notes(
    tmp_path: Path, tools: Path, url: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "MANIFESTS": "manifests",
        "FAKE_PLAN_EXIT": "2",
        "GITLAB_API_TOKEN": "glpat-test",
        "CI_API_V4_URL": url,
        "CI_PROJECT_ID": "7",
        "CI_MERGE_REQUEST_IID": "42",
        "CI_COMMIT_SHA": "0123abc",
        "CI_JOB_ID": "5",
        "CI_JOB_URL": "https://gitlab.example.com/job/5",
    }
    return run_bash(gitlab_plan_script(), tmp_path, tools, env)


def test_gitlab_note_is_updated_when_the_merge_request_has_one(
    tmp_path: Path, tools: Path, notes_api: tuple[NotesApi, str]
) -> None:
    api, url = notes_api
    api.notes = [{"id": 3, "body": "LGTM"}, {"id": 8, "body": MARKER + "\nold plan"}]
    done = run_gitlab_plan_with_notes(tmp_path, tools, url)
    assert done.returncode == 0, done.stderr
    method, path, body = api.requests[-1]
    assert (method, path) == ("PUT", "/api/v4/projects/7/merge_requests/42/notes/8")
    assert body["body"].startswith(MARKER + "\n")
    assert PLAN_MARKDOWN in body["body"]


def test_gitlab_note_is_created_when_there_is_none(
    tmp_path: Path, tools: Path, notes_api: tuple[NotesApi, str]
) -> None:
    api, url = notes_api
    api.notes = [{"id": 3, "body": "LGTM"}]
    done = run_gitlab_plan_with_notes(tmp_path, tools, url)
    assert done.returncode == 0, done.stderr
    assert [(m, p.split("?")[0]) for m, p, _ in api.requests] == [
        ("GET", "/api/v4/projects/7/merge_requests/42/notes"),
        ("GET", "/api/v4/projects/7/merge_requests/42/notes"),
        ("POST", "/api/v4/projects/7/merge_requests/42/notes"),
    ]
    assert api.requests[-1][2]["body"].startswith(MARKER + "\n")
