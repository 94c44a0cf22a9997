"""asylumsim: an agent-based simulator of asylum offers to Russian draftees and soldiers."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``sim.__version__``: the version computed from git at build time (see sim.provenance)."""
    if name == "__version__":
        from sim.provenance import package_version

        return package_version()
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
