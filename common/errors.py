"""The root of the library's named errors.

Every fault a person can act on (a missing file, a misspelled option, a server that does not
answer) is a :class:`HubError` whose message is already the one line to show: the CLI turns any
of them into that line and an exit code, with no traceback. Anything else is a bug.
"""
from __future__ import annotations


class HubError(Exception):
    """A fault the user can fix; ``str(err)`` is the one line that says what to fix."""

    exit_code = 1
