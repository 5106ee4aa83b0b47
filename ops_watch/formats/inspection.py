"""Placeholder: being written (issue 9)."""

KIND = None
