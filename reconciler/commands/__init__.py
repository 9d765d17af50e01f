"""What each command does, behind the CLI: typed options in, an ``Outcome`` out.

Commands never call ``sys.exit`` and never pick exit codes; ``reconciler/cli.py`` maps outcomes
(and errors) to exit codes in one place.
"""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    SUCCESS = "success"
    CHANGES = "changes"  # plan --detailed-exitcode / drift: there is something to do
    CONFLICT = "conflict"  # plan --detailed-exitcode: something apply would refuse
    FAILURE = "failure"
