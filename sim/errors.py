"""The project's own error types: one line, naming the file, the key and the problem."""

from __future__ import annotations


class AsylumsimError(Exception):
    """Base class for every error the CLI reports as one clean line (exit 1)."""


class ConfigError(AsylumsimError):
    """A scenario file, override or merged config is invalid.

    Args:
        source: File path (or "--set", "<merged>") the problem comes from.
        key: Dotted key path of the offending value ("" for the whole document).
        problem: What is wrong, in plain words.
    """

    def __init__(self, source: str, key: str, problem: str):
        self.source = str(source)
        self.key = key
        self.problem = problem
        where = f"{self.source}: {key}: " if key else f"{self.source}: "
        super().__init__(where + problem)


class ResultsError(AsylumsimError):
    """A results folder is missing, foreign, corrupt or cannot be written."""


class WriteError(ResultsError):
    """A file of a results folder could not be written (a full disk, a read-only folder, ...).

    Its ``__cause__`` is the :class:`OSError`; a run stopped by it can be resumed.
    """


class ResourceError(AsylumsimError):
    """A run would need more memory or disk than the machine has."""
