"""The one exception type for mistakes a user can fix (bad names, paths, data, arguments).

The CLI prints these as a single line and exits with status 2; library users get a ValueError.
"""


class UserError(ValueError):
    """A problem with the user's input, with a message that says how to fix it."""
