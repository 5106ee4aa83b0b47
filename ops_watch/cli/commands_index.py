"""Written by scripts/cli_index.py from the commands as registered (see cli/index.py); do not edit."""

COMMAND_INDEX: dict[str, tuple[str, str]] = {
    "archive": (
        "ops_watch.areas.governance.archive.commands",
        "The archive of the documents the center must keep (档案归档): present, missing, retention.",
    ),
    "audit": (
        "ops_watch.areas.governance.audit.commands",
        "Audit materials (审计材料报送): deadlines, submissions and the timeliness rate (报送及时率).",
    ),
    "billing": (
        "ops_watch.areas.money.billing.commands",
        "Monthly billing reconciliation (账单核对): the contractor's statement against the inventory.",
    ),
    "budget": (
        "ops_watch.areas.money.budget.commands",
        "Budget execution (预算执行): execution rate, carry-over and the year-end forecast.",
    ),
    "check": ("ops_watch.cli.run", "Evaluate the rules once, or replay a past period day by day."),
    "collect": (
        "ops_watch.cli.run",
        "Run one collection cycle now and print what each source measured or why it could not.",
    ),
    "completion": ("ops_watch.cli.completion", "Print the shell completion script for bash or zsh."),
    "config": ("ops_watch.cli.admin", "The configuration file."),
    "continuity": (
        "ops_watch.areas.continuity.commands",
        "Backups and drills of the protected systems (备份与演练).",
    ),
    "contract": (
        "ops_watch.areas.governance.contract_text.commands",
        "Contract text (合同文本): repealed laws cited, required clauses absent.",
    ),
    "db": ("ops_watch.cli.admin", "The store."),
    "doors": (
        "ops_watch.areas.staffing.commands",
        "Door devices (门禁设备): the settings that make a device push its events (docs/doors.md).",
    ),
    "findings": ("ops_watch.cli.findings", "List, show, acknowledge and silence findings."),
    "ingest": (
        "ops_watch.cli.ingest",
        "Ingest evidence files of KIND by hand (they are not moved) and print the counts.",
    ),
    "inspections": (
        "ops_watch.areas.governance.inspections.commands",
        "The center's unannounced inspections (不定期检查): the monthly plan, the records, the rectifications.",
    ),
    "notify": ("ops_watch.cli.notify", "Alerts: test a receiver, look at the outbox, retry a message."),
    "report": ("ops_watch.cli.report", "The weekly compliance summary: build, archive, send, list."),
    "resources": (
        "ops_watch.areas.resources.commands",
        "Utilization and what can be reclaimed (资源利用率与可回收资源).",
    ),
    "rules": ("ops_watch.cli.admin", "The rules and the checks they use."),
    "run": ("ops_watch.cli.run", "Run the daemon (or one pass of its main jobs with --once)."),
    "score": (
        "ops_watch.areas.money.score.commands",
        "The contractor score: each indicator's formula, inputs, value, target, weight and points; then the total, the band, the consequences and what has no evidence (counted as missing, never as zero).",
    ),
    "serve": ("ops_watch.cli.serve", "Serve the web console on [web] listen (users: `ops-watch users add`)."),
    "staffing": (
        "ops_watch.areas.staffing.commands",
        "On-site staffing: shifts, door evidence and the staffing rate (人员到位率).",
    ),
    "status": (
        "ops_watch.cli.status",
        "Which ops-watch run leads (two nodes on PostgreSQL: docs/install.md), each instance's last heartbeat, and every job's last run (csv/xlsx: the jobs' rows).",
    ),
    "survey": (
        "ops_watch.areas.governance.survey.commands",
        "The satisfaction survey (满意度调查): units and respondents covered, not only the mean.",
    ),
    "tokens": ("ops_watch.cli.users", "Bearer tokens of the console's read-only JSON API (/api/v1/)."),
    "users": (
        "ops_watch.cli.users",
        "The web console's accounts (roles: viewer reads; operator also acknowledges, silences, records inspections; admin also manages users and tokens).",
    ),
}
