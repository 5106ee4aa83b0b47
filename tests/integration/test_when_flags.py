"""Each kind of time flag takes what people type (core.when): the same store answers `--month 2026年10月` as
`--month 2026-10`, `--from 2026/11/1` as `--from 2026-11-01`, `--at 2026年11月20日9时00分` as
`--at 2026-11-20 09:00`, `--year 2026年` as `--year 2026` and `--week 2026年第46周` as `--week 2026-W46`;
and a wrong value stops the command naming the flag, the value and the forms to write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ops_watch.cli import main
from ops_watch.store import Store
from tests.integration.test_billing_examples import demo  # noqa: F401  (the fixture: examples ingested)
from tests.integration.test_budget_execution import cli_config  # noqa: F401  (the fixture: budget terms)


@pytest.fixture
def config(store: Store, store_url: str, config_file: Any) -> Path:
    return config_file(f'[store]\nurl = "{store_url}"\n')


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def same_json(config: Path, *args: str) -> Any:
    out = cli(config, *args, "--format", "json")
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


# --- --month -----------------------------------------------------------------------------------------------


def test_billing_reconcile_takes_the_month_as_people_write_it(demo: Path) -> None:  # noqa: F811
    at = ("--at", "2026-11-16 09:00")  # the JSON says as of when: the same time for every run, not now
    iso = same_json(demo, "billing", "reconcile", "--month", "2026-10", *at)
    # The examples' October statement gives lines to compare.
    assert iso["lines"] and iso["as_of"] == "2026-11-16T09:00:00+08:00"
    for written in ("2026年10月", "2026/10", "2026.10", "２０２６／１０", "2026年 10 月"):
        assert same_json(demo, "billing", "reconcile", "--month", written, *at) == iso, written
    compact = cli(demo, "billing", "reconcile", "--month", "202610")
    assert compact.exit_code == 2
    assert "--month: '202610' is not a month: six digits in a row" in compact.output
    assert "2026-11, 2026/11 or 2026年11月" in compact.output


# --- --from/--to (days) and --at (times) -------------------------------------------------------------------


def test_check_replays_days_written_with_slashes_and_in_chinese(config: Path) -> None:
    iso = same_json(config, "check", "--since", "2026-11-01", "--until", "2026-11-03")
    assert [r["at"][:10] for r in iso] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    written = same_json(config, "check", "--since", "2026/11/1", "--until", "2026年11月3日")
    assert [r["at"] for r in written] == [
        r["at"] for r in iso
    ]  # the counts differ: the first run opened them
    bad = cli(config, "check", "--since", "2026-11-01", "--until", "2026-11-31")
    assert bad.exit_code == 2 and "'2026-11-31' is not a date (2026-11 has days 1–30)" in bad.output


def test_check_at_takes_chinese_and_slashed_times(config: Path) -> None:
    for written in ("2026-11-20 09:00", "2026/11/20 9:00", "2026年11月20日 09:00", "2026年11月20日9时00分"):
        out = same_json(config, "check", "--at", written)
        assert [r["at"] for r in out] == ["2026-11-20 09:00"], written
    bad = cli(config, "check", "--at", "2026-11-20 25:00")
    assert bad.exit_code == 2
    assert (
        "--at: '2026-11-20 25:00' is not a time (hour 25 is not 0–23): write 2026-11-16 09:30" in bad.output
    )


# --- --year (and --at through the shared at_time) ----------------------------------------------------------


def test_budget_status_takes_the_year_and_the_day_as_people_write_them(cli_config: Path) -> None:  # noqa: F811
    iso = same_json(cli_config, "budget", "status", "--year", "2026", "--at", "2026-11-16")
    assert iso["as_of"] == "2026-11-16"
    written = same_json(cli_config, "budget", "status", "--year", "2026年", "--at", "2026年11月16日")
    assert written == iso
    bad = cli(cli_config, "budget", "status", "--year", "26", "--at", "2026-11-16")
    assert (
        bad.exit_code == 2 and "--year: '26' is not a year: write four digits, 2026 or 2026年" in bad.output
    )


# --- --week ------------------------------------------------------------------------------------------------


def test_report_weekly_takes_the_week_written_in_chinese(config: Path, tmp_path: Path) -> None:
    iso = cli(config, "report", "weekly", "--week", "2026-W46", "--lang", "en")
    assert iso.exit_code == 0, iso.output
    written = cli(config, "report", "weekly", "--week", "2026年第46周", "--lang", "en")
    assert written.exit_code == 0, written.output
    assert "2026-W46" in written.output and written.output == iso.output
    bad = cli(config, "report", "weekly", "--week", "2026年第54周")
    assert (
        bad.exit_code == 2
        and "--week: '2026年第54周': 2026 has no ISO week 54 (its weeks are 1–53)" in bad.output
    )
