"""Billing (对账): the [billing] terms, the monthly statement as evidence, the reconciliation, its checks and
commands."""
