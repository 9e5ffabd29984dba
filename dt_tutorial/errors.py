"""The one exception type for mistakes a user can fix (bad names, paths, data, arguments).

The CLI prints these as a single line and exits with status 2; library users get a ValueError.
"""

import sys


class UserError(ValueError):
    """A problem with the user's input, with a message that says how to fix it."""


def note(message: str) -> None:
    """Tell the user about something done on their behalf (a value clipped, a cache rebuilt): one line on stderr."""
    print(f"note: {message}", file=sys.stderr)
