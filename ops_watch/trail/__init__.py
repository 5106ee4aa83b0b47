"""The evidence trail: every batch of evidence and every decision sealed in a hash chain when it is stored, so a
row edited in the database, a batch deleted or an archived file replaced is found by `ops-watch verify`
(issue 22; docs/trail.md says how, in words an auditor can check by hand)."""
