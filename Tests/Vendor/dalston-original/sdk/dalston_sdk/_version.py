"""Version information for dalston-sdk."""

__version__ = "0.1.0"
