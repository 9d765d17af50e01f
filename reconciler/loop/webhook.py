"""Push webhooks from GitHub and GitLab: is this request genuine, and is it a push to the branch
the loop watches?

GitHub signs the body with HMAC-SHA256 of the shared secret (``X-Hub-Signature-256:
sha256=<hex>``); GitLab sends the secret itself (``X-Gitlab-Token``). Both are compared in
constant time. Anything unsigned or wrongly signed is refused (401) before the body is parsed,
and changes nothing; a genuine request that is not a push to the watched branch is accepted and
ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


@dataclass(frozen=True)
class Verdict:
    status: int  # HTTP status to answer
    trigger: bool
    message: str
    delivery: str = ""  # the sender's delivery id, to tell passes apart in the history


def github_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def judge(
    headers: Mapping[str, str], body: bytes, secret: str | None, branch: str | None
) -> Verdict:
    """``headers`` with lower-case names."""
    if not secret:
        return Verdict(401, False, "no webhook secret is configured (--webhook-secret-env)")
    signature = headers.get("x-hub-signature-256")
    token = headers.get("x-gitlab-token")
    if signature is not None:
        expected = github_signature(secret, body)
        if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
            return Verdict(401, False, "X-Hub-Signature-256 does not match")
        sender, event = "github", headers.get("x-github-event", "")
        delivery = headers.get("x-github-delivery", "")
        is_push = event == "push"
    elif token is not None:
        if not hmac.compare_digest(token.encode(), secret.encode()):
            return Verdict(401, False, "X-Gitlab-Token does not match")
        sender, event = "gitlab", headers.get("x-gitlab-event", "")
        delivery = headers.get("x-gitlab-event-uuid", "")
        is_push = event == "Push Hook"
    else:
        return Verdict(401, False, "unsigned: no X-Hub-Signature-256 or X-Gitlab-Token")
    name = f"webhook {sender} {delivery}".rstrip()
    if not is_push:
        return Verdict(204, False, f"{name}: {event or 'unknown'} event ignored", delivery)
    try:
        ref = json.loads(body.decode("utf-8")).get("ref", "")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return Verdict(400, False, f"{name}: the push payload is not a JSON object", delivery)
    pushed = ref.removeprefix("refs/heads/") if isinstance(ref, str) else ""
    if branch is not None and pushed != branch:
        return Verdict(204, False, f"{name}: push to {ref or '?'} ignored (watching {branch})")
    return Verdict(202, True, name, delivery)
