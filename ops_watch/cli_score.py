"""Placeholder: filled by issue 8 (money and score)."""
