"""Every ``reconciler ...`` command line in deploy/ (Kubernetes args, GitHub Actions steps,
GitLab CI scripts) is parsed by the real CLI, so a renamed or removed command or option fails
here rather than in a user's cluster or pipeline."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from tests.deploy.recipes import (
    DEPLOY,
    Call,
    all_calls,
    collected,
    github_scripts,
    gitlab_job_scripts,
    has_command,
    load_documents,
    reconciler_calls,
    reconciler_mentions,
    resolve,
    shell_commands,
)

CALLS, UNREADABLE = collected(all_calls)

# The loop's flags as DESIGN.md ("The reconcile loop" and the Commands table) names them, plus
# the connection options every command that talks to Admin takes.
RECONCILE_FLAGS = {
    "--interval",
    "--jitter",
    "--once",
    "--self-heal",
    "--prune",
    "--repo",
    "--branch",
    "--path",
    "--ref",
    "--listen",
    "--notify",
    "--renotify",
    "--webhook-secret-env",
    "--shard",
    "--shard-from-hostname",
    "--log-format",
    "--shutdown-timeout",
    "--endpoint",
    "--insecure",
    "--config",
    "--env",
    "--verbose",
    "-v",
}


@pytest.mark.parametrize(
    "path",
    sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml")),
    ids=lambda p: str(p.relative_to(DEPLOY)),
)
def test_every_yaml_recipe_parses(path: Path) -> None:
    documents = load_documents(path)
    assert documents
    assert all(isinstance(d, dict) for d in documents)


def test_the_recipes_run_the_commands_they_are_for() -> None:
    assert UNREADABLE is None, UNREADABLE
    found = sorted({(call.where.split()[0], call.command) for call in CALLS})
    assert found == [
        ("github", "apply"),
        ("github", "plan"),
        ("github", "validate"),
        ("gitlab", "apply"),
        ("gitlab", "plan"),
        ("gitlab", "validate"),
        ("kubernetes", "reconcile"),
    ]


@pytest.mark.parametrize("call", CALLS, ids=[c.where for c in CALLS])
def test_every_command_line_parses_with_the_real_cli(call: Call) -> None:
    if call.command == "reconcile" and not has_command("reconcile"):
        pytest.skip(
            "`reconciler reconcile` is not in reconciler.cli on this branch yet (the loop, "
            "issue #12); this check runs as soon as it is"
        )
    try:
        with resolve(call.argv):
            pass
    except click.UsageError as exc:
        pytest.fail(f"{call.where}: reconciler {' '.join(call.argv)}: {exc.format_message()}")


@pytest.mark.parametrize(
    "call", [c for c in CALLS if c.command == "reconcile"], ids=lambda c: c.where
)
def test_reconcile_command_lines_use_only_the_flags_design_md_names(call: Call) -> None:
    """Runs before the loop lands: a misspelt flag shows now, not once it is merged."""
    flags = {word.split("=")[0] for word in call.argv if word.startswith("-")}
    assert flags <= RECONCILE_FLAGS, f"{call.where}: {sorted(flags - RECONCILE_FLAGS)}"


def test_the_cli_check_fails_on_a_renamed_option_an_unknown_command_and_a_bad_value() -> None:
    with resolve(["plan", "manifests", "-o", "markdown", "--detailed-exitcode"]) as context:
        assert context.params["detailed_exitcode"] is True
        assert context.params["output"] == "markdown"
    with pytest.raises(click.NoSuchOption):
        resolve(["plan", "manifests", "--detailed-exit-code"])
    with pytest.raises(click.UsageError, match="no such command"):
        resolve(["plann", "manifests"])
    with pytest.raises(click.BadParameter):
        resolve(["plan", "manifests", "-o", "html"])
    with pytest.raises(click.BadParameter):
        resolve(["apply", "manifests", "--parallelism", "0"])
    with pytest.raises(click.MissingParameter):
        resolve(["validate"])
    with resolve(["local-admin", "serve", "--port", "8089"]) as context:
        assert context.params["port"] == 8089


def test_no_reconciler_command_line_escapes_the_shell_reader() -> None:
    """Cross-check the shell reader against a plain text count of ``reconciler SUBCOMMAND``."""
    scripts = [*github_scripts(), *gitlab_job_scripts()]
    assert len(scripts) > 5
    for script in scripts:
        found = reconciler_calls(script.text, script.variables, strict=False)
        assert len(found) == reconciler_mentions(script.text), script.where


def test_ci_command_lines_use_only_variables_their_recipe_sets() -> None:
    """The shell would expand an unset variable to nothing: `reconciler plan ""`."""
    for script in [*github_scripts(), *gitlab_job_scripts()]:
        try:
            reconciler_calls(script.text, script.variables)
        except KeyError as exc:
            pytest.fail(f"{script.where}: {exc}")


def test_shell_reader_splits_commands_and_drops_redirections() -> None:
    script = (
        "code=0\n"
        'reconciler plan "$M" -o markdown --detailed-exitcode > plan.md 2> plan.err || code=$?\n'
        "cat plan.err >&2; if reconciler drift m; then echo ok 2>&1; fi\n"
        "reconciler apply m \\\n  --auto-approve  # and a comment\n"
        "python3 - <<'PY'\nreconciler validate not-a-command\nPY\n"
    )
    assert shell_commands(script) == [
        ["reconciler", "plan", "$M", "-o", "markdown", "--detailed-exitcode"],
        ["cat", "plan.err"],
        ["reconciler", "drift", "m"],
        ["echo", "ok"],
        ["reconciler", "apply", "m", "--auto-approve"],
        ["python3", "-"],
    ]
    assert reconciler_mentions(script) == 3
    assert reconciler_calls(script, {"M": "manifests"})[0][:2] == ["plan", "manifests"]
    with pytest.raises(KeyError, match=r"\$M is not set"):
        reconciler_calls(script, {})
    assert reconciler_calls(script, {}, strict=False)[0][1] == "$M"
