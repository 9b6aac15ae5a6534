"""The hall-edge version (pyproject.toml's), reported by every role."""

__version__ = "0.1.0"
