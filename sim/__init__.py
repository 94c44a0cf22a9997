"""asylumsim: an agent-based simulator of asylum offers to Russian draftees and soldiers."""

__version__ = "0.1.0"
