"""Written by scripts/cli_index.py from the commands as registered (see cli/index.py); do not edit."""

COMMAND_INDEX: dict[str, tuple[str, str]] = {
    "archive": (
        "ops_watch.areas.governance.archive.commands",
        "档案归档：在档、缺失与保存期限 / The archive of the documents the center must keep (档案归档): present, missing, retention.",
    ),
    "audit": (
        "ops_watch.areas.governance.audit.commands",
        "审计材料报送：期限与及时率 / Audit materials (审计材料报送): deadlines, submissions and the timeliness rate (报送及时率).",
    ),
    "billing": (
        "ops_watch.areas.money.billing.commands",
        "账单核对：对账单与资源清单 / Monthly billing reconciliation (账单核对): the contractor's statement against the inventory.",
    ),
    "budget": (
        "ops_watch.areas.money.budget.commands",
        "预算执行：执行率、结转与预测 / Budget execution (预算执行): execution rate, carry-over and the year-end forecast.",
    ),
    "check": (
        "ops_watch.cli.run",
        "检查：评估规则一次，或逐日回放 / Evaluate the rules once, or replay a past period day by day.",
    ),
    "collect": (
        "ops_watch.cli.run",
        "立即采集一次并列出结果 / Run one collection cycle now and print what each source measured or why it could not.",
    ),
    "completion": (
        "ops_watch.cli.completion",
        "输出 shell 补全脚本 / Print the shell completion script for bash or zsh.",
    ),
    "config": ("ops_watch.cli.admin", "配置文件 / The configuration file."),
    "continuity": (
        "ops_watch.areas.continuity.commands",
        "备份与演练 / Backups and drills of the protected systems (备份与演练).",
    ),
    "contract": (
        "ops_watch.areas.governance.contract_text.commands",
        "合同文本：引用废止法规、缺少条款 / Contract text (合同文本): repealed laws cited, required clauses absent.",
    ),
    "db": ("ops_watch.cli.admin", "数据库 / The store."),
    "doors": (
        "ops_watch.areas.staffing.commands",
        "门禁设备：推送设置 / Door devices (门禁设备): the settings that make a device push its events (docs/doors.md).",
    ),
    "findings": (
        "ops_watch.cli.findings",
        "问题：列出、查看、确认、静默 / List, show, acknowledge and silence findings.",
    ),
    "ingest": (
        "ops_watch.cli.ingest",
        "手工导入证据文件 / Ingest evidence files of KIND by hand (they are not moved) and print the counts.",
    ),
    "inspections": (
        "ops_watch.areas.governance.inspections.commands",
        "不定期检查：计划、记录、整改 / The center's unannounced inspections (不定期检查): the monthly plan, the records, the rectifications.",
    ),
    "notify": (
        "ops_watch.cli.notify",
        "告警：测试、发件箱、重发 / Alerts: test a receiver, look at the outbox, retry a message.",
    ),
    "report": (
        "ops_watch.cli.report",
        "周报：生成、归档、发送、列出 / The weekly compliance summary: build, archive, send, list.",
    ),
    "resources": (
        "ops_watch.areas.resources.commands",
        "资源利用率与可回收资源 / Utilization and what can be reclaimed (资源利用率与可回收资源).",
    ),
    "rules": ("ops_watch.cli.admin", "规则及其检查项 / The rules and the checks they use."),
    "run": (
        "ops_watch.cli.run",
        "运行守护进程（或 --once 一次） / Run the daemon (or one pass of its main jobs with --once).",
    ),
    "score": (
        "ops_watch.areas.money.score.commands",
        "考核评分：各指标得分与总分 / The contractor score: each indicator's formula, inputs, value, target, weight and points; then the total, the band, the consequences and what has no evidence (counted as missing, never as zero).",
    ),
    "serve": (
        "ops_watch.cli.serve",
        "启动 Web 控制台 / Serve the web console on [web] listen (users: `ops-watch users add`).",
    ),
    "staffing": (
        "ops_watch.areas.staffing.commands",
        "现场人员：班次、门禁与到位率 / On-site staffing: shifts, door evidence and the staffing rate (人员到位率).",
    ),
    "status": (
        "ops_watch.cli.status",
        "运行状态：主节点与心跳 / Which ops-watch run leads (two nodes on PostgreSQL: docs/install.md), each instance's last heartbeat, and every job's last run (csv/xlsx: the jobs' rows).",
    ),
    "survey": (
        "ops_watch.areas.governance.survey.commands",
        "满意度调查：覆盖单位与人数 / The satisfaction survey (满意度调查): units and respondents covered, not only the mean.",
    ),
    "tokens": (
        "ops_watch.cli.users",
        "API 令牌（只读 JSON 接口） / Bearer tokens of the console's read-only JSON API (/api/v1/).",
    ),
    "users": (
        "ops_watch.cli.users",
        "控制台账户 / The web console's accounts (roles: viewer reads; operator also acknowledges, silences, records inspections; admin also manages users and tokens).",
    ),
    "verify": (
        "ops_watch.cli.verify",
        "证据链校验：重算哈希链并指出第一处断裂 / Recompute the evidence and decisions chains from the store and the archived files; name the first break (exit 1 when one is found).",
    ),
}
