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


def command() -> str:
    """How to run asylumsim again from the user's shell, for the hints in messages
    (``continue with: ...``).

    ``asylumsim`` when that name on ``PATH`` is the program running; else the path the
    program was started by, as typed (``.venv/bin/asylumsim`` after the README's install,
    which does not put it on ``PATH``); ``asylumsim`` when not started as that command
    (``python -m sim.cli``, the tests' in-process runner, the dashboard).
    """
    import os
    import shlex
    import shutil
    import sys

    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) != "asylumsim":
        return "asylumsim"
    found = shutil.which("asylumsim")
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return "asylumsim"
    return shlex.quote(argv0)
