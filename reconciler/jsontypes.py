"""Names for JSON-shaped values, so that a signature says what it holds instead of ``Any``.

``JSON`` is what ``json.loads`` returns and ``json.dumps`` accepts: the shape of saved plans,
protobuf messages in ``MessageToDict`` form (``canonical.normalized``), JSON schemas and the
plain values flytekit's struct serializers write. Mappings are ``Mapping`` in parameters (so a
``dict[str, str]`` is accepted) and ``dict`` in results.
"""

from __future__ import annotations

from typing import TypeAlias

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
"""A JSON value."""

JSONObject: TypeAlias = dict[str, JSON]
"""A JSON object."""
