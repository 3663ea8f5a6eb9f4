"""Errors a user can act on. Each carries a one-line message naming the file, field or option."""


class WorkbenchError(Exception):
    """Base class: the CLI prints the message on one line and exits with `exit_code`."""

    exit_code = 2


class InputError(WorkbenchError):
    """Bad input from the user: an option, a scenario or an output path."""


class ReferenceDataError(WorkbenchError):
    """A file in data/ is missing, malformed, or holds a value out of range."""
