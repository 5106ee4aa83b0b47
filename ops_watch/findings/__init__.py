"""Findings: the check registry (registry.py), rule files (rules.py), the engine that keeps each finding's
lifecycle (engine.py), silences, rectification deadlines, and the registry of score indicators (indicators.py)."""
