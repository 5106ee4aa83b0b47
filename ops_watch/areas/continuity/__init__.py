"""Continuity (备份与演练): the [continuity] protected systems, backup runs and drills as evidence, their
checks and indicators, the report section, the `continuity` commands, and the restic backup-polling job."""
