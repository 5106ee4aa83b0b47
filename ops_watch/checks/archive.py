"""Placeholder: filled by issue 9 (paperwork)."""
