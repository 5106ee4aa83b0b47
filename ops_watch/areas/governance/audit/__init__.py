"""Audit materials (审计材料报送): the [audit] materials and deadlines, the register and dropped documents as
evidence, timeliness, its checks, indicator and commands."""
