"""The deploy/ recipes read the way their consumers read them.

Kubernetes expands ``$(VAR)`` in container args from the container's environment; a CI runner
hands each script to a shell; Docker reads the Dockerfile and filters the build context through
.dockerignore. The helpers here do the same, so that the tests check what would actually run:
every ``reconciler ...`` command line of every recipe, resolved by the real click CLI.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import click
import yaml

from reconciler.cli import cli

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
GITHUB_WORKFLOW = DEPLOY / "github" / "reconciler.yml"
GITLAB_CI = DEPLOY / "gitlab" / ".gitlab-ci.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

WORKLOAD_KINDS = ("CronJob", "Deployment", "StatefulSet")

_T = TypeVar("_T")


def collected(read: Callable[[], list[_T]]) -> tuple[list[_T], str | None]:
    """Read recipes for parametrizing tests at collection time. A recipe that cannot be read
    (a YAML syntax error) must fail its own test, not stop the whole test session with a
    collection error: the problem is returned for a test to report."""
    try:
        return read(), None
    except Exception as exc:
        return [], f"{type(exc).__name__}: {exc}"


def load_documents(path: Path) -> list[Any]:
    """Every non-empty YAML document of a file."""
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d is not None]


def kubernetes_files() -> list[Path]:
    return sorted(KUBERNETES.glob("*.yaml"))


def kubernetes_objects() -> list[tuple[Path, dict[str, Any]]]:
    """The objects the recipes create (kustomization.yaml is kustomize's input, not one)."""
    return [
        (path, doc)
        for path in kubernetes_files()
        if path.name != "kustomization.yaml"
        for doc in load_documents(path)
    ]


def object_name(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_template(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The pod template of a Deployment, StatefulSet or CronJob."""
    if obj["kind"] == "CronJob":
        return dict(obj["spec"]["jobTemplate"]["spec"]["template"])
    return dict(obj["spec"]["template"])


def workloads() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, o) for p, o in kubernetes_objects() if o["kind"] in WORKLOAD_KINDS]


def find_object(kind: str, name: str) -> dict[str, Any]:
    for _, obj in kubernetes_objects():
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise LookupError(f"no {kind}/{name} in {KUBERNETES}")


def container_environment(container: Mapping[str, Any]) -> dict[str, str]:
    """The environment Kubernetes gives a container: envFrom first, then env (which wins),
    with values taken from the ConfigMaps and Secrets of the recipes."""
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            config_map = find_object("ConfigMap", source["configMapRef"]["name"])
            environment.update(config_map.get("data", {}))
        if "secretRef" in source:
            secret = find_object("Secret", source["secretRef"]["name"])
            environment.update(secret.get("stringData", {}))
    for variable in container.get("env", []):
        if "value" in variable:
            environment[variable["name"]] = expand_kubernetes(variable["value"], environment)
        elif "secretKeyRef" in variable.get("valueFrom", {}):
            ref = variable["valueFrom"]["secretKeyRef"]
            environment[variable["name"]] = find_object("Secret", ref["name"])["stringData"][
                ref["key"]
            ]
        else:  # fieldRef and the like: known only at run time, but defined
            environment[variable["name"]] = f"<{variable['name']}>"
    return environment


_KUBERNETES_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand_kubernetes(text: str, environment: Mapping[str, str], strict: bool = True) -> str:
    """``$(VAR)`` as the kubelet expands it in command, args and env values. Kubernetes leaves
    a reference to an undefined variable as it is, which would reach the program as a literal
    ``$(VAR)``; here that is an error unless ``strict`` is off."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in environment:
            if not strict:
                return match.group(0)
            raise KeyError(f"$({name}) is not in the container's environment")
        return environment[name]

    return _KUBERNETES_REFERENCE.sub(replace, text)


# --- shell ---------------------------------------------------------------------------------

# words that may stand before a command, or alone
_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "time", "exec"}
)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REDIRECTION = re.compile(r"^(?:[<>]+&?|&>+)$")
_SEPARATOR = re.compile(r"^[;&|()]+$")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")


def _logical_lines(script: str) -> Iterator[str]:
    """Lines with backslash continuations joined and here-document bodies left out."""
    lines = script.replace("\\\n", " ").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        yield line
        index += 1
        heredoc = _HEREDOC.search(line)
        if heredoc:
            while index < len(lines) and lines[index].strip() != heredoc.group(2):
                index += 1
            index += 1


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a POSIX shell script, as words with quotes removed and
    redirections, assignments and keywords dropped (no expansion). Enough for the scripts of
    the recipes: no command substitution around a ``reconciler`` call, and a file descriptor
    number stands right before its redirection (``2> file``)."""
    commands: list[list[str]] = []
    for line in _logical_lines(script):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        tokens = list(lexer)
        position = 0
        while position < len(tokens):
            token = tokens[position]
            following = tokens[position + 1] if position + 1 < len(tokens) else ""
            if token.isdigit() and _REDIRECTION.match(following):
                position += 1  # the descriptor of "2> file"
            elif _REDIRECTION.match(token):
                position += 2  # the operator and its target
            elif _SEPARATOR.match(token):
                commands.append(words)
                words = []
                position += 1
            else:
                words.append(token)
                position += 1
        commands.append(words)
    simple = []
    for words in commands:
        start = 0
        while start < len(words) and (words[start] in _KEYWORDS or _ASSIGNMENT.match(words[start])):
            start += 1
        if start < len(words):
            simple.append(words[start:])
    return simple


_SHELL_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_shell(word: str, variables: Mapping[str, str], strict: bool = True) -> str:
    """``$NAME`` and ``${NAME}`` from the variables the recipe sets; a variable it does not set
    is an error (the shell would expand it to nothing) unless ``strict`` is off."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in variables:
            if not strict:
                return match.group(0)
            raise KeyError(f"${name} is not set by the recipe")
        return variables[name]

    return _SHELL_REFERENCE.sub(replace, word)


def reconciler_calls(
    script: str, variables: Mapping[str, str], strict: bool = True
) -> list[list[str]]:
    """The argument lists (after ``reconciler``) of the script's reconciler commands, with the
    recipe's variables expanded."""
    return [
        [expand_shell(word, variables, strict) for word in words[1:]]
        for words in shell_commands(script)
        if words[0] == "reconciler"
    ]


_MENTION = re.compile(
    r"(?:^|[;&|(]|\b(?:then|do|if|else)\b|!)[ \t]*(?:[A-Za-z_]\w*=\S*[ \t]+)*reconciler[ \t]+[a-z]",
    re.MULTILINE,
)


def reconciler_mentions(script: str) -> int:
    """How many times ``reconciler SUBCOMMAND`` stands where a command starts (line start,
    after an operator or a keyword) outside comments and here-documents, counted with a
    regular expression instead of the shell reader: a cross-check that ``reconciler_calls``
    misses none. Prose such as ``echo "reconciler plan failed"`` is not a command."""
    text = "\n".join(line for line in _logical_lines(script) if not line.lstrip().startswith("#"))
    return len(_MENTION.findall(text))


# --- the recipes' command lines -------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One ``reconciler`` command line of a recipe: where it is and its arguments."""

    where: str
    argv: tuple[str, ...]

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv else ""


def github_expressions_as_placeholders(value: object) -> str:
    return re.sub(r"\$\{\{.*?\}\}", "placeholder", str(value))


@dataclass(frozen=True)
class Script:
    """A shell script of a CI recipe and the variables the recipe sets for it."""

    where: str
    text: str
    variables: Mapping[str, str]


def github_scripts() -> list[Script]:
    workflow = load_documents(GITHUB_WORKFLOW)[0]
    scripts = []
    for job_name, job in workflow["jobs"].items():
        for index, step in enumerate(job["steps"]):
            if "run" not in step:
                continue
            variables = {
                name: github_expressions_as_placeholders(value)
                for scope in (workflow, job, step)
                for name, value in scope.get("env", {}).items()
            }
            where = f"github jobs.{job_name}.steps[{index}] ({step.get('name', 'unnamed')})"
            scripts.append(Script(where, step["run"], variables))
    return scripts


def gitlab_jobs() -> dict[str, dict[str, Any]]:
    ci = load_documents(GITLAB_CI)[0]
    reserved = {"workflow", "stages", "variables", "default", "include", "image", "services"}
    return {name: job for name, job in ci.items() if name not in reserved}


def gitlab_scripts(job: Mapping[str, Any]) -> str:
    """The job's before_script (or the default's) and script, as the runner's shell sees them."""
    ci = load_documents(GITLAB_CI)[0]
    before = job.get("before_script", ci.get("default", {}).get("before_script", []))
    return "\n".join([*before, *job.get("script", [])])


def gitlab_job_scripts() -> list[Script]:
    ci = load_documents(GITLAB_CI)[0]
    scripts = []
    for job_name, job in gitlab_jobs().items():
        variables = {**ci.get("variables", {}), **job.get("variables", {})}
        variables = {k: str(v) for k, v in variables.items()}
        scripts.append(Script(f"gitlab {job_name}", gitlab_scripts(job), variables))
    return scripts


def ci_calls() -> list[Call]:
    """The reconciler command lines of the CI recipes; a variable the recipe does not set is
    left as written here (the strict check is a test of its own)."""
    return [
        Call(script.where, tuple(argv))
        for script in [*github_scripts(), *gitlab_job_scripts()]
        for argv in reconciler_calls(script.text, script.variables, strict=False)
    ]


def kubernetes_calls() -> list[Call]:
    """The command line of every container of every workload; the image's entrypoint is
    ``reconciler``, so ``args`` are its arguments. An undefined ``$(VAR)`` is left as written
    (the strict check is a test of its own)."""
    calls = []
    for path, obj in workloads():
        for container in pod_template(obj)["spec"]["containers"]:
            command = container.get("command", ["reconciler"])
            if command != ["reconciler"]:
                raise AssertionError(f"{path.name}: command {command} is not the reconciler")
            environment = container_environment(container)
            argv = tuple(
                expand_kubernetes(arg, environment, strict=False) for arg in container["args"]
            )
            calls.append(Call(f"kubernetes {path.name} {object_name(obj)}", argv))
    return calls


def all_calls() -> list[Call]:
    return [*kubernetes_calls(), *ci_calls()]


def has_command(name: str) -> bool:
    return name in cli.commands


def resolve(argv: list[str] | tuple[str, ...]) -> click.Context:
    """Parse a command line with the real CLI, down to the command's own parameters, without
    running it: an unknown command or option, a missing value or one of the wrong type raises
    click's UsageError, as the program would."""
    command: click.Command = cli
    context = click.Context(cli, info_name="reconciler")
    remaining = list(argv)
    while isinstance(command, click.Group):
        if not remaining:
            raise click.UsageError("no command given", context)
        name, *remaining = remaining
        sub = command.get_command(context, name)
        if sub is None:
            raise click.UsageError(f"no such command {name!r}", context)
        command = sub
        if isinstance(command, click.Group):
            context = click.Context(command, info_name=name, parent=context)
        else:
            return command.make_context(name, remaining, parent=context)
    raise AssertionError("unreachable")


def option_value(argv: tuple[str, ...] | list[str], flag: str) -> str | None:
    """The value given to ``flag`` (``--flag VALUE`` or ``--flag=VALUE``), last one wins."""
    found = None
    for index, word in enumerate(argv):
        if word == flag and index + 1 < len(argv):
            found = argv[index + 1]
        elif word.startswith(flag + "="):
            found = word.split("=", 1)[1]
    return found


# --- Dockerfile and .dockerignore ---------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction as BuildKit's parser reads it."""

    keyword: str
    flags: tuple[str, ...]
    values: tuple[str, ...]
    exec_form: bool
    line: int

    @property
    def text(self) -> str:
        return " ".join(self.values)


def dockerfile_stages(path: Path) -> list[list[Instruction]]:
    """The Dockerfile's build stages, each a list of its instructions, read by the
    ``dockerfile`` package (Docker's own Go parser, built into a Python extension)."""
    import dockerfile

    stages: list[list[Instruction]] = []
    for command in dockerfile.parse_file(str(path)):
        instruction = Instruction(
            command.cmd.upper(),
            tuple(command.flags),
            tuple(command.value),
            bool(command.json),
            command.start_line,
        )
        if instruction.keyword == "FROM":
            stages.append([])
        elif not stages:
            raise ValueError(f"line {instruction.line}: {instruction.keyword} before FROM")
        stages[-1].append(instruction)
    return stages


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        parts.append({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)))
        index += 1
    return re.compile("".join(parts) + r"\Z")


def dockerignore_patterns(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(is an exception, pattern) per line, cleaned as Docker cleans them."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        cleaned = str(PurePosixPath(line.lstrip("!").strip().lstrip("/")))
        patterns.append((negated, _dockerignore_regex(cleaned)))
    return patterns


def excluded_from_context(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parent directories
    decides; ``!`` patterns put a path back."""
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negated, regex in patterns:
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded
