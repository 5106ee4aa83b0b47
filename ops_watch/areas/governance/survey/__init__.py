"""The satisfaction survey (满意度调查): the [survey] terms, answers as evidence, coverage of the tenant units,
its check, indicator and commands."""
