"""Dalston CLI - Command-line client for Dalston transcription server."""

__version__ = "0.1.0"
