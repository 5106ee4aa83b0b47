"""The command × flag table (issue 21): the docs hold the table the commands give now, and the commands keep
the rules the table is there to show: a command that prints rows has --format, one that judges as of a time
has --at, a range is --from/--to."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops_watch.cli.flags_table import BEGIN, END, CommandFlags, block_of, command_flags, table

DOCS = Path(__file__).resolve().parents[2] / "docs"

# The commands whose answer depends on when it is asked: each takes --at (default now).
JUDGE_AS_OF_A_TIME = {
    "archive status",
    "audit status",
    "billing reconcile",
    "budget status",
    "check",
    "continuity status",
    "inspections plan",
    "inspections show",
    "resources idle",
    "resources usage",
    "run",
    "score",
    "staffing attendance",
    "staffing rate",
    "staffing shifts",
    "survey coverage",
}
# The commands that print rows: each takes --format (and what comes with it).
PRINT_ROWS = {
    "archive status",
    "audit status",
    "billing reconcile",
    "budget status",
    "check",
    "collect",
    "continuity status",
    "contract lint",
    "findings list",
    "findings show",
    "findings silences",
    "ingest",
    "inspections plan",
    "inspections show",
    "notify outbox",
    "report list",
    "resources idle",
    "resources usage",
    "rules list",
    "rules plugins",
    "score",
    "staffing attendance",
    "staffing rate",
    "staffing shifts",
    "status",
    "survey coverage",
    "tokens list",
    "users events",
    "users list",
}
# Names a range must not go by (it is --from/--to); (command, flag) pairs where the name means something else.
RANGE_NAMES = {
    "--since",
    "--until",
    "--start",
    "--end",
    "--begin",
    "--first",
    "--last",
    "--date-from",
    "--date-to",
}
NOT_A_RANGE = {("findings silence", "--until")}  # the time the silence ends, beside --for


@pytest.fixture(scope="module")
def commands() -> dict[str, CommandFlags]:
    return {c.name: c for c in command_flags()}


@pytest.mark.parametrize(("page", "zh"), [("cli.md", False), ("zh/命令.md", True)])
def test_the_docs_hold_the_table_of_the_commands_as_they_are(page: str, zh: bool) -> None:
    path = DOCS / page
    assert path.exists(), f"docs/{page} is missing: run `python scripts/flags_table.py`"
    text = path.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, (
        f"docs/{page} has no {BEGIN} … {END}: run `python scripts/flags_table.py`"
    )
    assert block_of(text) == table(zh), (
        f"docs/{page}: the flags table is out of date: run `python scripts/flags_table.py`"
    )


def test_the_chinese_guide_links_the_page() -> None:
    assert "(命令.md)" in (DOCS / "zh" / "README.md").read_text(encoding="utf-8")


def test_the_lists_of_this_test_name_real_commands(commands: dict[str, CommandFlags]) -> None:
    assert not (JUDGE_AS_OF_A_TIME | PRINT_ROWS) - set(commands)


def test_every_command_that_judges_as_of_a_time_has_at(commands: dict[str, CommandFlags]) -> None:
    missing = sorted(name for name in JUDGE_AS_OF_A_TIME if not commands[name].has("--at"))
    assert not missing, f"these judge as of a time but take no --at: {missing}"


def test_every_command_that_prints_rows_has_format(commands: dict[str, CommandFlags]) -> None:
    missing = sorted(name for name in PRINT_ROWS if not commands[name].has("--format"))
    assert not missing, f"these print rows but take no --format: {missing}"


def test_every_range_is_from_and_to(commands: dict[str, CommandFlags]) -> None:
    wrong = sorted(
        (c.name, flag)
        for c in commands.values()
        for flag in c.options
        if flag in RANGE_NAMES and (c.name, flag) not in NOT_A_RANGE
    )
    assert not wrong, f"a range is --from/--to (other names may be aliases): {wrong}"
    halves = sorted(c.name for c in commands.values() if c.has("--from") != c.has("--to"))
    assert not halves, f"--from without --to or the other way round: {halves}"


def test_check_keeps_since_and_until_as_aliases(commands: dict[str, CommandFlags]) -> None:
    check = commands["check"]
    assert check.has("--from", "--to")
    assert {("--since", "--from"), ("--until", "--to")} <= set(check.aliases)
    assert "`--since` (= `--from`), `--until` (= `--to`)" in table(zh=False)
