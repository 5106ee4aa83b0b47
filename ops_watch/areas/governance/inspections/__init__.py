"""Unannounced inspections (不定期检查): the [inspections] terms, the month's plan, inspection records as
evidence, their checks and commands (the morning reminder is queued by the jobs layer)."""
