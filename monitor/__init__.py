"""leakmon: a leak monitor for security teams."""

__version__ = "0.1.0"
