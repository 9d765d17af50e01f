"""The status page: HTML made from the loop's state (the JSON of ``/api/state`` and of the state
file, itself made from the plan), for ``reconcile`` and ``reconciler ui STATEFILE``.

Like the other renderers it decides nothing: statuses, reasons, diffs and console links are the
state's; the field lines are the ones ``plan`` prints (``render.fields.field_lines`` made them,
formatted here with ``value_text``). What it adds is presentation:

- one table of every resource, grouped by kind and project/domain, filtered server-side by the
  query (``?kind=LaunchPlan&status=drifted``; repeatable; empty means all), so that filters work
  without JavaScript; each status is a word (colour only adds to it);
- a resource out of sync shows its reason and a short diff in a ``<details>`` (no JavaScript
  needed), and links to its own page (``resource/<address>``) with the whole diff;
- the last pass, the commit now in git next to the one last applied, and the recent passes.

Everything that comes from manifests or Admin goes through ``_e`` (``html.escape``) or
``_href`` (percent-encoded, and only http(s) for links that leave the page). The inline style
and script are fixed text, so ``CONTENT_SECURITY_POLICY`` allows exactly them by hash: even a
missed escape could not run a script. Links are relative, so the page works behind a proxy
that serves it under a prefix. The page stays small (about 100 bytes a synced resource): a
thousand resources make well under 100 KB.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from reconciler.render.fields import value_text

# The state is the loop's JSON (``loop/state.py`` writes it; a file may hold an older one) and
# every value is read here with isinstance or str(), so ``Mapping[str, Any]`` is its honest type.

STATUSES = ("synced", "drifted", "conflict", "waiting", "failed")
_PROBLEMS_FIRST = {"failed": 0, "conflict": 1, "drifted": 2, "waiting": 3, "synced": 4}
FILTERS = ("kind", "project", "domain", "status")
SHORT_FIELDS = 4  # field lines a row's <details> shows; the resource page has all of them
SHORT_VALUE = 60  # characters of a value a row's <details> shows
PASSES_SHOWN = 10
ID_LENGTH = 10  # hex digits of resource_id: 40 bits, no collision in any real tree
REFRESH_MIN, REFRESH_MAX = 2.0, 60.0

_CSS = """\
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.4rem;margin:.8rem 0 0}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}
.sub,.note{color:#555;margin:.2rem 0}code,pre{font:12px/1.35 ui-monospace,monospace}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0}dt{font-weight:600}
dd{margin:0}table{border-collapse:collapse;width:100%}caption{text-align:left;padding:.3rem 0}
th,td{text-align:left;padding:.15rem .5rem;border-bottom:1px solid #e3e3e3;vertical-align:top}
thead th{border-bottom:2px solid #999}tbody th{font-weight:400}
tbody th[scope=rowgroup]{background:#eef0f3;font-weight:600;padding-top:.4rem}
form{margin:.4rem 0;display:flex;flex-wrap:wrap;gap:.3rem .6rem;align-items:center}
.synced,.res tr:not([class])>td{color:#1d6b2f}
.drifted,.drifted summary{color:#8a5300}.waiting,.waiting summary{color:#205a9c}
.conflict,.failed,.error,.conflict summary,.failed summary{color:#b3141f;font-weight:600}
tr.drifted>*{background:#fff8e1}tr.conflict>*,tr.failed>*{background:#fdecec}
summary{cursor:pointer}details pre,details a{font-weight:400;color:#1a1a1a}
"""

# Keeps the <details> a reader opened open across the page's own refreshes (optional: without
# JavaScript a refresh closes them, and everything else works the same).
_JS = (
    'document.querySelectorAll("details[id]").forEach(function(d){'
    "if(sessionStorage.getItem(d.id))d.open=true;"
    'd.addEventListener("toggle",function(){'
    'd.open?sessionStorage.setItem(d.id,"1"):sessionStorage.removeItem(d.id)})})'
)


def _sha256(text: str) -> str:
    """The CSP source of an inline element whose content is exactly ``text``."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{_sha256(_CSS)}'; script-src '{_sha256(_JS)}'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class BadQuery(ValueError):
    """A query the page cannot answer (an unknown status)."""


@dataclass(frozen=True)
class Filters:
    """Which resources to show: each field a set of accepted values, empty for all."""

    kind: frozenset[str] = frozenset()
    project: frozenset[str] = frozenset()
    domain: frozenset[str] = frozenset()
    status: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, query: str) -> Filters:
        values = parse_qs(query, keep_blank_values=False)
        picked = {
            name: frozenset(v.strip() for v in values.get(name, ()) if v.strip())
            for name in FILTERS
        }
        unknown = picked["status"] - set(STATUSES)
        if unknown:
            raise BadQuery(
                f"unknown status {', '.join(sorted(unknown))}: one of {', '.join(STATUSES)}"
            )
        return cls(**picked)

    def accepts(self, resource: Mapping[str, Any]) -> bool:
        return all(not wanted or str(resource.get(name)) in wanted for name, wanted in self.items())

    def items(self) -> list[tuple[str, frozenset[str]]]:
        return [(name, getattr(self, name)) for name in FILTERS]

    @property
    def active(self) -> bool:
        return any(wanted for _, wanted in self.items())

    def query(self, **override: str) -> str:
        """The query string of these filters with some replaced (for links to other views)."""
        pairs: list[tuple[str, str]] = []
        for name, wanted in self.items():
            if name in override:
                pairs.append((name, override[name]))
            else:
                pairs.extend((name, value) for value in sorted(wanted))
        return "?" + urlencode(pairs) if pairs else "./"


@dataclass(frozen=True)
class PageOptions:
    """What the page needs to know besides the state."""

    now: float = field(default_factory=time.time)
    read_only_from: str | None = None  # the state file ``reconciler ui`` serves, if it does


# --- helpers -------------------------------------------------------------------------------


def _e(value: object) -> str:
    """Text from the state, safe as element content (not in attributes: ``_attr``). Quotes
    stay quotes: JSON values are full of them, and ``&quot;`` would cost a thousand rows."""
    return html.escape("" if value is None else str(value), quote=False)


def _attr(value: object) -> str:
    """Text from the state, safe inside a double-quoted attribute value."""
    return html.escape("" if value is None else str(value), quote=True)


def _href(url: object) -> str | None:
    """An outside link (the Flyte console) only when it is http(s): a ``javascript:`` console
    endpoint in reconciler.yaml must not become a link."""
    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return _attr(url)


def _when(stamp: object, now: float) -> str:
    """An ISO time from the state as ``<time>``, with how long ago."""
    if not isinstance(stamp, str):
        return "never"
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return _e(stamp)
    shown = moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f'<time datetime="{_attr(stamp)}">{shown}</time> ({_ago(now - moment.timestamp())})'


def _ago(seconds: float) -> str:
    if seconds < 0:
        return "just now"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def _every(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "unknown interval"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"every {seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"every {seconds / 60:g} min"
    return f"every {seconds:g} s"


def _commit(commit: object) -> str:
    if not isinstance(commit, str) or not commit:
        return "unknown"
    return f'<code title="{_attr(commit)}">{_e(commit[:12])}</code>'


def _status(status: object) -> str:
    return f'<span class="{_attr(status) if status in STATUSES else ""}">{_e(status)}</span>'


def _result(result: object) -> str:
    known = ("synced", "drifted", "failed", "error")
    return f'<span class="{_attr(result) if result in known else ""}">{_e(result)}</span>'


def _short(value: object) -> str:
    text = value_text(value)
    return text if len(text) <= SHORT_VALUE else text[: SHORT_VALUE - 1] + "…"


def refresh_seconds(state: Mapping[str, Any]) -> int:
    """How often the page reloads itself: the loop's interval, within bounds (a page of a
    5-minute loop still notices a pass a webhook triggered within a minute)."""
    interval = (state.get("loop") or {}).get("interval_seconds")
    if not isinstance(interval, int | float):
        interval = REFRESH_MAX / 2
    return round(min(max(float(interval), REFRESH_MIN), REFRESH_MAX))


def _document(title: str, body: str, refresh: int, base: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="refresh" content="{refresh}">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}"
        f'<footer class="note"><a href="{base}api/state">JSON</a></footer>\n'
        f"<script>{_JS}</script>\n</body>\n</html>\n"
    )


def _header(state: Mapping[str, Any], options: PageOptions) -> str:
    source = state.get("source") or {}
    if source.get("repo"):
        where = f"{source['repo']} branch {source.get('branch')} path {source.get('path')}"
    else:
        where = " ".join(str(p) for p in source.get("paths") or ()) or "unknown source"
    loop = state.get("loop") or {}
    mode = "self-heal" if loop.get("self_heal") else "report only"
    line = f"Reconciling <code>{_e(where)}</code>, {_every(loop.get('interval_seconds'))}, {mode}."
    if options.read_only_from:
        line += (
            f" Read-only view of the state file <code>{_e(options.read_only_from)}</code>, "
            f"written {_when(state.get('updated'), options.now)}."
        )
    return f'<header>\n<h1>Flyte reconciler</h1>\n<p class="sub">{line}</p>\n</header>\n'


# --- the status page ---------------------------------------------------------------------


def render_index(
    state: Mapping[str, Any], filters: Filters, options: PageOptions | None = None
) -> str:
    options = options or PageOptions()
    resources = [r for r in state.get("resources") or () if isinstance(r, Mapping)]
    counts = {s: sum(1 for r in resources if r.get("status") == s) for s in STATUSES}
    body = _header(state, options) + "<main>\n"
    body += _last_pass(state, options)
    body += _resources(resources, counts, filters)
    body += _passes(state.get("passes") or (), options)
    body += "</main>\n"
    problems = [f"{n} {s}" for s, n in counts.items() if n and s != "synced"]
    title = "reconciler: " + (", ".join(problems) if problems else f"all {len(resources)} synced")
    return _document(title, body, refresh_seconds(state))


def _last_pass(state: Mapping[str, Any], options: PageOptions) -> str:
    last = state.get("last_pass")
    out = '<section aria-labelledby="last">\n<h2 id="last">Last pass</h2>\n'
    if not isinstance(last, Mapping):
        return out + "<p>No pass has run yet.</p>\n</section>\n"
    facts: list[tuple[str, str]] = [
        (
            "Outcome",
            f"{_result(last.get('result'))} (pass {_e(last.get('pass'))}, "
            f"triggered by {_e(', '.join(map(str, last.get('triggers') or ())) or '?')})",
        ),
        ("Started", _when(last.get("start"), options.now)),
        ("Duration", _duration(last.get("duration_seconds"))),
        ("Commit in git", _commit(last.get("commit"))),
        ("Last applied", _milestone(state.get("last_applied"), last, options)),
        ("Admin last matched git", _milestone(state.get("last_synced"), last, options)),
    ]
    if last.get("applied"):
        healed, failed = len(last.get("healed") or ()), len(last.get("failures") or ())
        facts.append(("Apply", f"applied {healed} change(s), {failed} failed"))
    elif last.get("not_applied"):
        facts.append(("Apply", f"not applied: {_e(last.get('not_applied'))}"))
    if last.get("result") != "error" or state.get("last_success"):
        facts.append(("Last success", _when(state.get("last_success"), options.now)))
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>\n" for name, value in facts)
    out += f"<dl>\n{rows}</dl>\n"
    if last.get("error"):
        out += f'<p class="error">The pass could not plan:</p>\n<pre>{_e(last["error"])}</pre>\n'
    for failure in last.get("failures") or ():
        if isinstance(failure, Mapping):
            out += (
                f'<p class="failed">Applying <code>{_e(failure.get("address"))}</code> failed:'
                f" {_e(failure.get('message'))}</p>\n"
            )
    return out + "</section>\n"


def _milestone(milestone: Any, last: Mapping[str, Any], options: PageOptions) -> str:
    if not isinstance(milestone, Mapping):
        return "never (by this loop's state)"
    text = (
        f"{_commit(milestone.get('commit'))} by pass {_e(milestone.get('pass'))}, "
        f"{_when(milestone.get('start'), options.now)}"
    )
    if milestone.get("result") not in (None, "synced"):
        text += f", {_result(milestone.get('result'))}"
    if milestone.get("commit") and last.get("commit") and milestone["commit"] != last["commit"]:
        text += " — not the commit in git"
    return text


def _resources(
    resources: Sequence[Mapping[str, Any]], counts: Mapping[str, int], filters: Filters
) -> str:
    out = '<section aria-labelledby="res">\n<h2 id="res">Resources</h2>\n'
    links = [
        f'<a href="{_attr(filters.query(status=s))}">{n} {s}</a>' if n else f"0 {s}"
        for s, n in counts.items()
    ]
    out += f"<p>{len(resources)} managed: {', '.join(links)}.</p>\n"
    out += _form(resources, filters)
    shown = [r for r in resources if filters.accepts(r)]
    caption = f"{len(shown)} of {len(resources)} resources"
    if filters.active:
        picked = "; ".join(f"{n} {', '.join(sorted(v))}" for n, v in filters.items() if v)
        caption += f" ({_e(picked)})"
    out += (
        f'<table class="res">\n<caption>{caption}, grouped by kind and project/domain; '
        "a name links to the Flyte console, a status out of sync opens its diff</caption>\n"
        '<thead><tr><th scope="col">Resource</th><th scope="col">Status</th></tr></thead>\n'
    )
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for resource in shown:
        kind, project, domain = (str(resource.get(k) or "") for k in ("kind", "project", "domain"))
        groups.setdefault((kind, project, domain), []).append(resource)
    for (kind, project, domain), members in sorted(groups.items()):
        out += (
            f'<tbody>\n<tr><th scope="rowgroup" colspan="2">{_e(kind)} '
            f"{_e(project)}/{_e(domain)}</th></tr>\n"
        )
        members.sort(key=_problems_first)
        out += "".join(_row(r) for r in members)
        out += "</tbody>\n"
    if not shown:
        out += '<tbody><tr><td colspan="2">No resource matches.</td></tr></tbody>\n'
    return out + "</table>\n</section>\n"


def _problems_first(resource: Mapping[str, Any]) -> tuple[int, str]:
    return _PROBLEMS_FIRST.get(str(resource.get("status")), 9), str(resource.get("name"))


def _form(resources: Sequence[Mapping[str, Any]], filters: Filters) -> str:
    out = '<form method="get" action="./" aria-label="Filter resources">\n'
    for name in FILTERS:
        values = (
            list(STATUSES)
            if name == "status"
            else sorted({str(r.get(name)) for r in resources if r.get(name)})
        )
        picked = getattr(filters, name)
        options = "".join(
            f"<option{' selected' if v in picked else ''}>{_e(v)}</option>" for v in values
        )
        out += (
            f'<label for="f-{name}">{name.capitalize()}</label>'
            f'<select id="f-{name}" name="{name}"><option value="">all</option>{options}'
            "</select>\n"
        )
    return out + '<button type="submit">Filter</button> <a href="./">Clear</a>\n</form>\n'


def quote_address(address: str) -> str:
    """An address as the path of ``resource/<address>``."""
    return quote(address, safe="/")


def resource_id(address: str) -> str:
    """A short, stable name for a resource in the page's links (``c/ID`` its console, ``r/ID``
    its page): a thousand rows each repeating a 50-character address, or a 100-character
    console URL, would not fit in 100 KB."""
    return hashlib.sha256(address.encode("utf-8")).hexdigest()[:ID_LENGTH]


def _row(resource: Mapping[str, Any]) -> str:
    """One resource; HTML's optional end tags left out (a thousand rows)."""
    status = str(resource.get("status"))
    address = str(resource.get("address") or "")
    name = _e(resource.get("name") or address)
    ident = resource_id(address)
    if _href(resource.get("console_url")):
        name = f"<a href=c/{ident}>{name}</a>"
    if status == "synced":
        return f"<tr><th>{name}<td>synced\n"
    lines = [d for d in resource.get("diff") or () if isinstance(d, Mapping)]
    what = _e(status)
    if status in ("drifted", "failed"):  # which change: the other statuses name their action
        healed = ", healed" if resource.get("healed") else ""
        what += f" ({_e(resource.get('action'))}{healed})"
    inner = _e(resource.get("reason"))
    if status == "failed" and resource.get("message"):
        inner += f"<br>apply failed: {_e(resource.get('message'))}"
    if lines:
        text = "\n".join(
            f"{d.get('path')}: {_short(d.get('before'))} → {_short(d.get('after'))}"
            for d in lines[:SHORT_FIELDS]
        )
        inner += f"<pre>{_e(text)}</pre>"
    more = f"all {len(lines)} fields" if len(lines) > SHORT_FIELDS else "more"
    css = status if status in STATUSES else "unknown"
    return (
        f"<tr class={css}><th>{name}<td><details id=d{ident}><summary>{what}</summary>"
        f"{inner} <a href=r/{ident}>{more}</a></details>\n"
    )


_PASS_COLUMNS = ("Pass", "Started", "Duration", "Result", "Commit", "Triggers", "Found", "Note")


def _passes(passes: Iterable[Any], options: PageOptions) -> str:
    shown = [p for p in passes if isinstance(p, Mapping)][:PASSES_SHOWN]
    out = '<section aria-labelledby="passes">\n<h2 id="passes">Recent passes</h2>\n'
    if not shown:
        return out + "<p>None yet.</p>\n</section>\n"
    out += (
        f"<table>\n<caption>The last {len(shown)} passes, newest first</caption>\n<thead><tr>"
        + "".join(f'<th scope="col">{h}</th>' for h in _PASS_COLUMNS)
        + "</tr></thead>\n<tbody>\n"
    )
    for summary in shown:
        statuses = ((summary.get("counts") or {}).get("status")) or {}
        found = ", ".join(f"{n} {s}" for s, n in statuses.items() if n) or "nothing"
        note = summary.get("error") or summary.get("not_applied") or ""
        if summary.get("applied"):
            healed, failed = len(summary.get("healed") or ()), len(summary.get("failures") or ())
            note = f"applied {healed}, {failed} failed"
        if isinstance(note, str) and "\n" in note:
            note = note.split("\n", 1)[0] + " …"
        out += (
            f'<tr><th scope="row">{_e(summary.get("pass"))}</th>'
            f"<td>{_when(summary.get('start'), options.now)}</td>"
            f"<td>{_duration(summary.get('duration_seconds'))}</td>"
            f"<td>{_result(summary.get('result'))}</td><td>{_commit(summary.get('commit'))}</td>"
            f"<td>{_e(', '.join(map(str, summary.get('triggers') or ())))}</td>"
            f"<td>{_e(found)}</td><td>{_e(note)}</td></tr>\n"
        )
    return out + "</tbody>\n</table>\n</section>\n"


# --- a resource's page -------------------------------------------------------------------


def find_resources(
    state: Mapping[str, Any], *, address: str | None = None, ident: str | None = None
) -> list[Mapping[str, Any]]:
    """The resources with this address, or this ``resource_id`` (two, were its hash ever to
    collide: then the caller lets the reader choose)."""
    found = []
    for resource in state.get("resources") or ():
        if not isinstance(resource, Mapping):
            continue
        at = str(resource.get("address") or "")
        if at == address or (ident is not None and resource_id(at) == ident):
            found.append(resource)
    return found


def console_url(resource: Mapping[str, Any]) -> str | None:
    """Where ``c/ID`` sends the reader: the resource's console page, if it is an http(s) URL."""
    url = resource.get("console_url")
    return url if _href(url) else None


def render_resource(
    state: Mapping[str, Any],
    resource: Mapping[str, Any],
    options: PageOptions | None = None,
    base: str = "../",
) -> str:
    """One resource: status, why, the whole diff, its console link. ``base``: the status page,
    relative to this one."""
    options = options or PageOptions()
    address = str(resource.get("address") or "")
    last = state.get("last_pass") or {}
    healed = ", healed by the last pass" if resource.get("healed") else ""
    facts = [
        ("Status", _status(resource.get("status")) + healed),
        ("Plan action", _e(resource.get("action"))),
        ("Why", _e(resource.get("reason")) or "—"),
        ("Kind", _e(resource.get("kind"))),
        ("Project/domain", f"{_e(resource.get('project'))}/{_e(resource.get('domain'))}"),
        ("As of", f"pass {_e(last.get('pass'))}, commit {_commit(last.get('commit'))}"),
    ]
    if resource.get("message"):
        facts.append(("Apply said", _e(resource.get("message"))))
    console = _href(resource.get("console_url"))
    if console:
        facts.append(("Flyte console", f'<a href="{console}">{console}</a>'))
    body = _header(state, options) + "<main>\n"
    body += f'<p><a href="{base}">← all resources</a></p>\n<h2>{_e(address)}</h2>\n'
    body += "<dl>\n" + "".join(f"<dt>{n}</dt><dd>{v}</dd>\n" for n, v in facts) + "</dl>\n"
    lines = [d for d in resource.get("diff") or () if isinstance(d, Mapping)]
    if lines:
        body += (
            "<table>\n<caption>Fields: what Admin has (before) and what git asks for (after)"
            '</caption>\n<thead><tr><th scope="col">Field</th><th scope="col">Before</th>'
            '<th scope="col">After</th></tr></thead>\n<tbody>\n'
        )
        for line in lines:
            body += (
                f'<tr><th scope="row"><code>{_e(line.get("path"))}</code></th>'
                f"<td><pre>{_e(value_text(line.get('before')))}</pre></td>"
                f"<td><pre>{_e(value_text(line.get('after')))}</pre></td></tr>\n"
            )
        body += "</tbody>\n</table>\n"
    else:
        body += "<p>No field differs.</p>\n"
    body += "</main>\n"
    title = f"{address}: {resource.get('status')} · reconciler"
    return _document(title, body, refresh_seconds(state), base)


def render_message(
    title: str,
    message: str,
    base: str = "",
    links: Sequence[tuple[str, str]] = (),
) -> str:
    """A page for an error (an unknown resource, a bad filter), or a choice (``links``: href
    relative to the status page, text)."""
    items = "".join(f'<li><a href="{_attr(base + h)}">{_e(text)}</a></li>' for h, text in links)
    body = (
        f"<main>\n<h1>{_e(title)}</h1>\n<p>{_e(message)}</p>\n"
        + (f"<ul>{items}</ul>\n" if items else "")
        + f'<p><a href="{base or "./"}">The status page</a></p>\n</main>\n'
    )
    return _document(title, body, round(REFRESH_MAX), base)
