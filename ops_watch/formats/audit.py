"""Placeholder: being written (issue 9)."""

KIND = None
DOC_KIND = None
