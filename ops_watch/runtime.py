"""What a running ops-watch holds: the validated config, the loaded rules and the open store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ops_watch.config import Config, load_config
from ops_watch.rules import RuleSet, load_rules
from ops_watch.store import Store, open_store


@dataclass
class Runtime:
    config: Config
    rules: RuleSet
    store: Store

    def close(self) -> None:
        self.store.dispose()


def load_settings(config_path: Path) -> tuple[Config, RuleSet]:
    """Config and rules, validated together; raises ConfigError listing every problem of both."""
    from ops_watch.config import ConfigError

    config = load_config(config_path)
    try:
        rules = load_rules(config.rules_dir)
    except ConfigError:
        raise
    return config, rules


def open_runtime(config_path: Path) -> Runtime:
    config, rules = load_settings(config_path)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(config.store_url, config.store.busy_timeout_ms, config.store_password())
    return Runtime(config=config, rules=rules, store=store)
