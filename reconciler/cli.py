"""The ``reconciler`` command line.

Handlers only parse options into a typed object and call a command function. This module is the
one place that turns outcomes and errors into exit codes (see ``EXIT_CODES`` and ``main``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import socket
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn, TypeVar

import click

from reconciler import __version__
from reconciler.commands import Outcome
from reconciler.errors import InvalidManifestsError, ReconcilerError, UsageError

if TYPE_CHECKING:  # the commands are imported when run, to keep --help fast
    from reconciler.commands.reconcile_common import AdminOptions

# The values of the -o/--output (and --log-format) choices: click.Choice passes no others.
TextOrJson = Literal["text", "json"]

# Exit codes are part of the contract (DESIGN.md, Commands).
EXIT_CODES = {Outcome.SUCCESS: 0, Outcome.FAILURE: 1, Outcome.CHANGES: 2, Outcome.CONFLICT: 3}
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130

_F = TypeVar("_F", bound=Callable[..., Any])


class Duration(click.ParamType):  # type: ignore[type-arg]
    """``90s``, ``30m``, ``2h``, ``1h30m`` or plain seconds."""

    name = "DURATION"
    _PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
    _UNITS: ClassVar[dict[str, float]] = {"h": 3600.0, "m": 60.0, "s": 1.0}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        text = str(value).strip()
        try:
            return float(text)
        except ValueError:
            pass
        parts = self._PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            self.fail(f"{value!r} is not a duration like 90s, 30m or 1h30m", param, ctx)
        return sum(float(n) * self._UNITS[u] for n, u in parts)


def _verbose_option(f: _F) -> _F:
    return click.option("-v", "--verbose", count=True, help="Say more (repeat for more).")(f)


def _ref_option(f: _F) -> _F:
    return click.option(
        "--ref",
        metavar="GITREV",
        help="Read the manifests (and reconciler.yaml) from this commit, tag or branch of the "
        "git repository that holds PATHS, not from the working tree (which is left untouched).",
    )(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """GitOps for Flyte: plan and apply launch plans, executions, backfills and signals kept as
    YAML manifests in git against FlyteAdmin."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False))
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    help="Apply the named environment of reconciler.yaml (its defaults) before checking.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github prints GitHub Actions annotations.",
)
@_ref_option
@_verbose_option
def validate(
    paths: tuple[Path, ...],
    environment: str | None,
    output: Literal["text", "json", "github"],
    ref: str | None,
    verbose: int,
) -> None:
    """Check manifests offline and report every problem (exit 0 valid, 1 invalid).

    PATHS are manifest files or directories (read recursively, *.yaml and *.yml, in sorted
    order). The nearest reconciler.yaml at or above them (up to the git repository's root)
    supplies defaults; -v names it.
    """
    from reconciler.commands.validate import ValidateOptions, run_validate

    options = ValidateOptions(paths, environment, output, verbose=verbose > 0, ref=ref)
    _finish(run_validate(options, sys.stdout))


def _selection_options(f: _F) -> _F:
    """``--target`` and ``--prune``, shared by plan and apply."""
    f = click.option(
        "--prune", is_flag=True, help="Also deactivate owned launch plans whose manifests are gone."
    )(f)
    return click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="KIND/[PROJECT/DOMAIN/]NAME",
        help="Only this resource (KIND/NAME: in every project/domain) and what it depends on: "
        "the Registration of a launch plan's workflow, an execution's or backfill's launch "
        "plan, a signal's execution (repeatable).",
    )(f)


def _connection_options(f: _F) -> _F:
    """The options of every command that talks to Admin (DESIGN.md, Commands)."""
    options = [
        click.option(
            "--endpoint",
            metavar="HOST:PORT",
            help="Admin endpoint: host:port, dns:///host:port, or local[:DBFILE].",
        ),
        click.option("--insecure", is_flag=True, default=None, help="Plain-text gRPC (no TLS)."),
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="A flytectl/flytekit config file (default: $FLYTECTL_CONFIG, "
            "~/.flyte/config.yaml).",
        ),
        click.option(
            "--env", "environment", metavar="NAME", help="A named environment of reconciler.yaml."
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@cli.command()
@click.argument(
    "root", required=False, default=".", type=click.Path(path_type=Path, file_okay=False)
)
@_connection_options
@_verbose_option
def ping(
    root: Path,
    endpoint: str | None,
    insecure: bool | None,
    config_file: Path | None,
    environment: str | None,
    verbose: int,
) -> None:
    """Check the connection to Admin: resolve the settings (-v shows where each came from),
    authenticate, and print Admin's version and the projects you can see.

    ROOT is a manifest tree whose reconciler.yaml (the nearest at or above it, up to the git
    repository's root) supplies settings (default: the current directory).
    """
    from reconciler.commands.ping import PingOptions, run_ping
    from reconciler.config import ConnectionFlags

    options = PingOptions(
        root, ConnectionFlags(endpoint, insecure, config_file), environment, verbose > 0
    )
    _finish(run_ping(options, dict(os.environ), sys.stdout, sys.stderr))


def _admin_options(
    paths: tuple[Path, ...],
    endpoint: str | None,
    insecure: bool | None,
    config_file: Path | None,
    environment: str | None,
    verbose: int,
    targets: tuple[str, ...] = (),
    prune: bool = False,
    ref: str | None = None,
) -> AdminOptions:
    from reconciler.commands.reconcile_common import AdminOptions
    from reconciler.config import ConnectionFlags

    return AdminOptions(
        paths,
        ConnectionFlags(endpoint, insecure, config_file),
        environment,
        targets,
        prune,
        verbose > 0,
        ref,
    )


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_connection_options
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="markdown suits pull request comments.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also save the plan (JSON) for `apply --plan FILE`.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when there are changes apply can make, 3 when "
    "any change is a conflict apply would refuse.",
)
@_selection_options
@_ref_option
@_verbose_option
def plan(
    paths: tuple[Path, ...],
    endpoint: str | None,
    insecure: bool | None,
    config_file: Path | None,
    environment: str | None,
    output: Literal["text", "json", "markdown"],
    out_file: Path | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    prune: bool,
    ref: str | None,
    verbose: int,
) -> None:
    """Read Admin and show what apply would change, per resource and field."""
    from reconciler.commands.plan import PlanOptions, run_plan

    admin = _admin_options(
        paths, endpoint, insecure, config_file, environment, verbose, targets, prune, ref
    )
    options = PlanOptions(admin, output, out_file, detailed_exitcode)
    _finish(run_plan(options, dict(os.environ), sys.stdout))


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_connection_options
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Apply exactly this saved plan (refused if Admin changed since).",
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--parallelism", type=click.IntRange(1, 256), help="Changes applied at once (default 10)."
)
@click.option("--wait", is_flag=True, help="Follow the launched runs until they finish.")
@click.option(
    "--timeout",
    type=Duration(),
    default="1h",
    show_default=True,
    help="With --wait: give up (exit 1) after this long.",
)
@_selection_options
@_ref_option
@_verbose_option
def apply(
    paths: tuple[Path, ...],
    endpoint: str | None,
    insecure: bool | None,
    config_file: Path | None,
    environment: str | None,
    plan_file: Path | None,
    auto_approve: bool,
    parallelism: int | None,
    wait: bool,
    timeout: float,
    targets: tuple[str, ...],
    prune: bool,
    ref: str | None,
    verbose: int,
) -> None:
    """Make Admin match the manifests in PATHS, or apply a plan saved with `plan --out`."""
    from reconciler.commands.apply import ApplyOptions, run_apply
    from reconciler.errors import UsageError

    if bool(paths) == (plan_file is not None):
        raise UsageError("give manifest PATHS or --plan FILE (one of them)")
    admin = _admin_options(
        paths, endpoint, insecure, config_file, environment, verbose, targets, prune, ref
    )
    options = ApplyOptions(admin, plan_file, auto_approve, parallelism, wait, timeout)
    _finish(run_apply(options, dict(os.environ), sys.stdout))


def _report_command(
    name: str,
    help_text: str,
    run: Callable[[AdminOptions, TextOrJson], Outcome],
    *,
    with_ref: bool = False,
) -> None:
    """A command that reads Admin for the manifests in PATHS and reports (drift, status,
    signals): the same arguments, a different report. ``with_ref``: it plans, so it can read
    the manifests from a git revision (``--ref``); status and signals report on runs, which
    the working tree names as well as any revision."""

    def command(
        paths: tuple[Path, ...],
        endpoint: str | None,
        insecure: bool | None,
        config_file: Path | None,
        environment: str | None,
        output: TextOrJson,
        verbose: int,
        ref: str | None = None,
    ) -> None:
        admin = _admin_options(
            paths, endpoint, insecure, config_file, environment, verbose, ref=ref
        )
        _finish(run(admin, output))

    decorated: Any = _verbose_option(command)  # applied last to first, as decorators are
    if with_ref:
        decorated = _ref_option(decorated)
    decorated = click.option(
        "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
    )(decorated)
    decorated = _connection_options(decorated)
    decorated = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))(
        decorated
    )
    cli.command(name, help=help_text)(decorated)


def _drift(admin: AdminOptions, output: TextOrJson) -> Outcome:
    from reconciler.commands.drift import DriftOptions, run_drift

    return run_drift(DriftOptions(admin, output), dict(os.environ), sys.stdout)


def _status(admin: AdminOptions, output: TextOrJson) -> Outcome:
    from reconciler.commands.status import StatusOptions, run_status

    return run_status(StatusOptions(admin, output), dict(os.environ), sys.stdout)


def _signals(admin: AdminOptions, output: TextOrJson) -> Outcome:
    from reconciler.commands.signals import SignalsOptions, run_signals

    return run_signals(SignalsOptions(admin, output), dict(os.environ), sys.stdout)


_report_command(
    "drift",
    "Refresh only: what in Admin differs from git for the managed resources (exit 2 if any).",
    _drift,
    with_ref=True,
)
_report_command(
    "status",
    "The runs behind Execution and Backfill manifests: phase, duration, inputs, outputs, error, "
    "console URL and timing spans.",
    _status,
)
_report_command(
    "signals",
    "The signals the runs behind the manifests wait on (or got), with their types.",
    _signals,
)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_connection_options
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--download",
    metavar="DIR",
    type=click.Path(path_type=Path, file_okay=False),
    help="Fetch file and directory outputs through DataProxy into DIR/<execution>/<output>.",
)
@_verbose_option
def outputs(
    paths: tuple[Path, ...],
    endpoint: str | None,
    insecure: bool | None,
    config_file: Path | None,
    environment: str | None,
    output: TextOrJson,
    download: Path | None,
    verbose: int,
) -> None:
    """The outputs of the runs behind Execution manifests, as YAML values (runs not finished
    say so)."""
    from reconciler.commands.outputs import OutputsOptions, run_outputs

    admin = _admin_options(paths, endpoint, insecure, config_file, environment, verbose)
    options = OutputsOptions(admin, output, download)
    _finish(run_outputs(options, dict(os.environ), sys.stdout))


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_connection_options
@click.option(
    "--repo",
    metavar="URL",
    help="Reconcile a git repository (instead of PATHS): cloned, fetched at every pass.",
)
@click.option("--branch", metavar="B", help="With --repo: the branch whose tip is reconciled.")
@click.option(
    "--path",
    "repo_path",
    type=click.Path(path_type=Path),
    help="With --repo: the manifest directory inside the repository (default: its root).",
)
@click.option(
    "--interval", type=Duration(), default="5m", show_default=True, help="Time between passes."
)
@click.option(
    "--jitter",
    type=click.FloatRange(0.0, 1.0),
    default=0.1,
    show_default=True,
    help="Vary each interval by up to this fraction, so that replicas do not pass in step.",
)
@click.option(
    "--once",
    is_flag=True,
    help="One pass, then exit as drift does: 0 in sync, 2 drift or changes left, 1 error.",
)
@click.option("--self-heal", is_flag=True, help="Apply what a pass finds (default: report only).")
@click.option(
    "--prune", is_flag=True, help="Also deactivate owned launch plans whose manifests are gone."
)
@click.option(
    "--listen",
    default="127.0.0.1:9464",
    show_default=True,
    metavar="ADDR",
    help="HOST:PORT for the status page (/), /api/state, /metrics, /healthz, /readyz and "
    "/hooks/git.",
)
@click.option(
    "--notify",
    multiple=True,
    metavar="URL",
    help="POST drift and failure events here (Slack incoming webhook JSON; repeatable).",
)
@click.option(
    "--renotify",
    type=Duration(),
    default="24h",
    show_default=True,
    help="Announce the same drift again after this long.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per pass on stdout.",
)
@click.option(
    "--shutdown-timeout",
    type=Duration(),
    default="30s",
    show_default=True,
    help="On SIGTERM/SIGINT, how long operations in flight may finish.",
)
@click.option(
    "--webhook-secret-env",
    metavar="NAME",
    help="Environment variable holding the secret push webhooks are signed with.",
)
@_ref_option
@click.option(
    "--shard",
    metavar="I/N",
    help="Reconcile only the project/domains that hash to shard I of N (N replicas share a "
    "tree; each reads from Admin only what it owns).",
)
@click.option(
    "--shard-from-hostname",
    is_flag=True,
    help="Take I from the hostname's -ORDINAL suffix (a StatefulSet pod's name); N from --shard.",
)
@click.option(
    "--state-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=str(Path(".reconciler") / "reconcile-state.json"),
    show_default=True,
    help="Where the last pass's state (and what was announced) is kept across restarts.",
)
@_verbose_option
def reconcile(
    paths: tuple[Path, ...],
    endpoint: str | None,
    insecure: bool | None,
    config_file: Path | None,
    environment: str | None,
    repo: str | None,
    branch: str | None,
    repo_path: Path | None,
    interval: float,
    jitter: float,
    once: bool,
    self_heal: bool,
    prune: bool,
    listen: str,
    notify: tuple[str, ...],
    renotify: float,
    log_format: TextOrJson,
    shutdown_timeout: float,
    webhook_secret_env: str | None,
    ref: str | None,
    shard: str | None,
    shard_from_hostname: bool,
    state_file: Path,
    verbose: int,
) -> None:
    """The GitOps loop: plan every --interval (and on a push webhook), apply with --self-heal,
    report drift as metrics, logs and notifications.

    PATHS are manifest files or directories, read afresh at every pass; or --repo URL
    --branch B [--path DIR]. Runs until SIGTERM or SIGINT (in-flight operations finish, exit 0;
    a second signal exits 130 at once), or one pass with --once.
    """
    from reconciler.commands.reconcile import GitOptions, ReconcileOptions, run_reconcile
    from reconciler.loop.runner import LoopOptions

    admin = _admin_options(paths, endpoint, insecure, config_file, environment, verbose, (), prune)
    if ref is not None and repo is not None:
        raise UsageError("--ref reads PATHS at a revision; with --repo, use --branch")
    admin = dataclasses.replace(admin, ref=ref, shard=_shard(shard, shard_from_hostname))
    loop = LoopOptions(
        admin,
        interval=interval,
        jitter=jitter,
        self_heal=self_heal,
        renotify=renotify,
        log_format=log_format,
        state_file=state_file,
    )
    options = ReconcileOptions(
        loop,
        once,
        listen,
        notify,
        webhook_secret_env,
        shutdown_timeout,
        GitOptions(repo, branch, repo_path),
    )
    _finish(run_reconcile(options, dict(os.environ), sys.stdout, sys.stderr, exit_now=_exit_now))


def _shard(text: str | None, from_hostname: bool) -> Any:
    from reconciler.shard import Shard

    if text is None:
        if from_hostname:
            raise UsageError("--shard-from-hostname needs --shard I/N for N (I is ignored)")
        return None
    shard = Shard.parse(text)
    return shard.with_hostname(socket.gethostname()) if from_hostname else shard


def _exit_now(outcome: Outcome | None) -> NoReturn:
    """Leave at once, without waiting for threads still in flight (``reconcile``: a second
    signal, or a shutdown that outlasted --shutdown-timeout); None: interrupted."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(EXIT_INTERRUPTED if outcome is None else EXIT_CODES[outcome])


@cli.command()
@click.argument("state_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--listen",
    default="127.0.0.1:9465",
    show_default=True,
    metavar="ADDR",
    help="HOST:PORT to serve the page on (0.0.0.0 must be asked for).",
)
def ui(state_file: Path, listen: str) -> None:
    """Serve the status page of a saved state file (reconcile's --state-file), read-only,
    until SIGTERM or Ctrl-C. The file is read again when it changes."""
    from reconciler.commands.ui import UiOptions, run_ui

    _finish(run_ui(UiOptions(state_file, listen), sys.stderr))


@cli.command()
@click.option("--settings", is_flag=True, help="The schema of reconciler.yaml instead.")
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write both schema files into this directory instead of printing.",
)
@click.option(
    "--check",
    "check_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Exit 1 when the schema files in this directory are stale.",
)
def schema(settings: bool, write_dir: Path | None, check_dir: Path | None) -> None:
    """Print the JSON Schema of manifests (or of reconciler.yaml with --settings)."""
    from reconciler.commands.schema import SchemaOptions, run_schema

    _finish(run_schema(SchemaOptions(settings, write_dir, check_dir), sys.stdout))


@cli.group("local-admin")
def local_admin() -> None:
    """The local FlyteAdmin (gRPC, SQLite, simulated engine) for trying things out and tests."""


@local_admin.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file that keeps state across restarts (default: in memory).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@click.option("--scheduler", is_flag=True, help="Launch active scheduled launch plans.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where blobs and simulated outputs go (default: next to --db, else a temporary dir).",
)
def serve(db: Path | None, port: int, scheduler: bool, data_dir: Path | None) -> None:
    """Serve the local Admin on 127.0.0.1 until SIGTERM or Ctrl-C; prints the endpoint."""
    from reconciler.commands.localadmin import ServeOptions, run_serve

    _finish(run_serve(ServeOptions(db, port, scheduler, data_dir), sys.stdout))


def _finish(outcome: Outcome) -> NoReturn:
    sys.exit(EXIT_CODES[outcome])


def main(argv: list[str] | None = None) -> NoReturn:
    """Console entry point: run the CLI and map every error to an exit code."""
    debug = bool(os.environ.get("RECONCILER_DEBUG"))
    try:
        returned = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except InvalidManifestsError as exc:
        for diagnostic in exc.diagnostics:
            click.echo(str(diagnostic), err=True)
        sys.exit(EXIT_ERROR)
    except ReconcilerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: say so in one line, traceback on request
        if debug:
            traceback.print_exc()
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} "
            "(set RECONCILER_DEBUG=1 for the traceback, and please report it)",
            err=True,
        )
        sys.exit(EXIT_ERROR)
    # click returns the exit code of --help/--version (and of Exit) when not standalone
    sys.exit(returned if isinstance(returned, int) else 0)
