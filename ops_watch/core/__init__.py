"""The shared floor: what every other package may import, and which imports nothing of ops-watch above it.

`registry` (the one Registry type), `contract` (the contract-section registry and its reader), `vocabulary`
(severities, areas, their names and colours, the zh/en text helper), `models` (the strict model base),
`errors` (ConfigError and how validation errors are named), `manifest` (a folder of files checked against
their sha256 sums), `timeutil`, `when` (days, months, weeks and years as people type them), `log`, `output`,
`http`, `sdnotify`.
"""
