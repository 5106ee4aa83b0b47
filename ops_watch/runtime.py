"""What a running ops-watch holds: the validated config, the loaded rules and the open store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ops_watch.config import Config, ConfigError, load_config
from ops_watch.core.log import get_logger
from ops_watch.findings.rules import RuleSet
from ops_watch.store import Store, open_store

# Start-up: the ingest, the report archive and the sources (and the plug-ins the rules need) are imported by the
# steps that use them, so a command that only reads the store (`findings list`) does not pay for them.

if TYPE_CHECKING:
    from ops_watch.sources import Collector
    from ops_watch.store.leader import Leader

log = get_logger(__name__)


@dataclass
class Runtime:
    config: Config
    rules: RuleSet
    store: Store
    # The file the settings came from: a child process (jobs.in_child) loads them again from it. None: built
    # by hand (tests), and such a runtime runs every job in its own process.
    config_path: Path | None = None
    # The daemon's leadership (store/leader.py): jobs ask it between units of work whether they may go on.
    lead: Leader | None = None
    _collectors: dict[str, Collector] | None = field(default=None, repr=False)

    def collectors(self) -> dict[str, Collector]:
        """The enabled collectors, built once and kept: they hold connections and counters between cycles."""
        if self._collectors is None:
            from ops_watch.sources import build_collectors  # start-up: see the imports

            self._collectors = build_collectors(self.config)
        return self._collectors

    def leading(self) -> bool:
        """May this process go on with work that must be done once? (True outside a daemon.)"""
        return self.lead is None or self.lead.leading()

    def close(self) -> None:
        for collector in (self._collectors or {}).values():
            collector.close()
        self._collectors = None
        self.store.dispose()


def load_settings(config_path: Path, check_secrets: bool = True) -> tuple[Config, RuleSet]:
    """Config and rules, validated together; raises ConfigError listing every problem of both."""
    from ops_watch.findings.rules import load_rules  # start-up: see the imports
    from ops_watch.ingest import column_map_problems_of

    config = load_config(config_path, check_secrets)
    # [ingest.columns] names kinds and their columns: plug-ins, so checked here, where they are loaded.
    problems = column_map_problems_of(config)
    try:
        rules = load_rules(config.rules_dir)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    if problems:
        raise ConfigError(problems)
    return config, rules


def open_runtime(
    config_path: Path, check_secrets: bool = True, migrate_in_child: bool = False, with_rules: bool = True
) -> Runtime:
    """Settings and the open store; `migrate_in_child` (the daemon): a store to migrate is migrated in a child
    process, so Alembic never loads in this one (store.db.open_store).

    `with_rules=False`: a command that only shows what is stored. The config is read, not the rules (an empty
    set: such a command never judges), and the housekeeping of the state directory is left to the others."""
    if not with_rules:
        config, rules = load_config(config_path, check_secrets), RuleSet()
    else:
        config, rules = load_settings(config_path, check_secrets)
        _tidy(config)
    try:
        password = config.store_password()
    except ValueError as exc:
        raise ConfigError([f"{config_path.name}: store.password: {exc}"]) from None
    store = open_store(
        config.store_url, config.store.busy_timeout_ms, password, migrate_in_child=migrate_in_child
    )
    return Runtime(config=config, rules=rules, store=store, config_path=config_path)


def _tidy(config: Config) -> None:
    """What a killed process left: temporary files under the state dir (a live one's stay), a weekly report's
    build killed half way."""
    from ops_watch.ingest import clean_temp_files  # start-up: see the imports
    from ops_watch.report.archive import recover_interrupted

    config.state_dir.mkdir(parents=True, exist_ok=True)
    clean_temp_files(config)
    for done in recover_interrupted(config.reports_dir):
        log.warning(
            "report archive: put right what an interrupted build left / 已修复中断的周报归档", action=done
        )
