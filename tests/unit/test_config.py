"""Config: the example works as is and documents every setting; every problem is listed with its key path."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from ops_watch.config import Config, ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config.example.toml"


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model of a `Model` or `list[Model]` field, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and args and isinstance(args[0], type):
        return args[0] if issubclass(args[0], BaseModel) else None
    return None


def _settings(
    model: type[BaseModel], prefix: str = "", in_list: bool = False, seen: frozenset[type] = frozenset()
) -> list[tuple[str, bool]]:
    """Every leaf setting of the config models as (dotted key path, inside a list of tables?). A model inside
    itself (a route's child routes) is walked once."""
    out: list[tuple[str, bool]] = []
    if model in seen:
        return out
    seen = seen | {model}
    for attr, field in model.model_fields.items():
        name = field.alias or attr  # the key as the file writes it (a route's `continue`)
        if field.exclude or field.annotation is type(None):
            continue  # excluded, or an inline secret (refused; the example shows <name>_file instead)
        sub = _model_in(field.annotation)
        if sub is not None:
            listed = in_list or typing.get_origin(field.annotation) is list
            if listed:
                out.append((f"{prefix}{name}", True))
            out += _settings(sub, f"{prefix}{name}.", listed, seen)
        else:
            out.append((f"{prefix}{name}", in_list))
    return out


def test_example_config_loads_as_is_and_resolves_paths_against_its_directory():
    cfg = load_config(EXAMPLE)
    assert cfg.site.timezone == "Asia/Shanghai"
    assert cfg.state_dir == REPO / "var"
    assert cfg.store_url == f"sqlite:///{REPO / 'var' / 'ops-watch.db'}"
    assert cfg.notify.email.transport == "file"


def test_example_config_documents_every_setting():
    text = EXAMPLE.read_text(encoding="utf-8")
    tables = {m.group(1) for m in re.finditer(r"^\[\[?([a-z_.]+)\]\]?", text, re.M)}
    missing = []
    for key, in_list in _settings(Config):
        section, _, leaf = key.rpartition(".")
        if in_list:  # an entry of a list of tables may be an inline table: the key must appear somewhere
            documented = re.search(rf"(^#?\s*|[{{,]\s*){leaf}\s*=|^\[\[{re.escape(key)}\]\]", text, re.M)
        else:
            in_table = section in tables or any(t.startswith(section + ".") for t in tables)
            documented = in_table and re.search(rf"^#?\s*{leaf}\s*=", text, re.M)
        if not documented:
            missing.append(key)
    assert missing == []


def test_every_problem_is_listed_with_file_and_key_path(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[site]\ntimezone = "Mars/Olympus"\n[notify.email]\nport = "abc"\ntransport = "pigeon"\n'
        '[schedule.collect]\nevery = "5 parsecs"\n[retention]\ndays = 30\n[bogus]\nx = 1\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    problems = err.value.problems
    keys = [p.split(": ")[1] for p in problems]
    assert all(p.startswith("config.toml: ") for p in problems)
    assert sorted(keys) == sorted(
        [
            "site.timezone",
            "notify.email.port",
            "notify.email.transport",
            "schedule.collect.every",
            "retention.days",
            "bogus",
        ]
    )
    assert "config.toml: notify.email.port: input should be a valid integer" in "\n".join(problems)


def test_invalid_toml_and_unreadable_file_are_reported(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("[site\nname = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_schedule_entry_needs_exactly_one_trigger(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[schedule.evaluate]\nevery = "5m"\ncron = "0 8 * * mon"\n[schedule.purge]\ncron = "99 * * * *"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = "\n".join(err.value.problems)
    assert "schedule.evaluate: give exactly one of" in text
    assert "schedule.purge: cron '99 * * * *'" in text


def test_inline_secret_is_refused_without_echoing_it(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[notify.email]\npassword = "hunter2-secret"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = "\n".join(err.value.problems)
    assert "notify.email.password: do not write a secret in the file" in text
    assert "hunter2-secret" not in text


def test_secret_from_file_relative_to_credentials_directory(tmp_path, monkeypatch):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "smtp").write_text("s3cret-from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    path = tmp_path / "c.toml"
    path.write_text('[notify.email]\npassword_file = "smtp"\n')
    cfg = load_config(path)
    assert cfg.smtp_password() == "s3cret-from-systemd"
    assert "s3cret" not in repr(cfg) and "s3cret" not in cfg.model_dump_json()


def test_secret_from_env_and_missing_sources_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("OW_TEST_DB_PW", "pg-pass-123")
    ok = tmp_path / "ok.toml"
    ok.write_text('[store]\npassword_env = "OW_TEST_DB_PW"\n')
    assert load_config(ok).store_password() == "pg-pass-123"
    bad = tmp_path / "bad.toml"
    bad.write_text('[store]\npassword_env = "OW_TEST_UNSET_VAR"\n[notify.email]\npassword_file = "nope"\n')
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    text = "\n".join(err.value.problems)
    assert "store.password_env: environment variable OW_TEST_UNSET_VAR is not set" in text
    assert "notify.email.password_file: cannot read" in text


def test_retention_below_six_months_is_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[retention]\ndays = 90\n")
    with pytest.raises(ConfigError, match="retention.days"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('lease = "10s"\nheartbeat = "5s"', "must be at least 3 x heartbeat"),
        ('heartbeat = "0.1s"', "heartbeat: at least 0.2s"),
        ('lease = "soon"', "ha.lease"),
    ],
)
def test_ha_timings_that_cannot_hold_the_lease_are_refused(tmp_path, text, words):
    path = tmp_path / "c.toml"
    path.write_text(f"[ha]\n{text}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    shown = "\n".join(err.value.problems)
    assert words in shown and "c.toml" in shown


def test_ha_defaults_leave_a_standby_time_for_several_heartbeats(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("")
    ha = load_config(path).ha
    assert ha.lease.total_seconds() == 30 and ha.heartbeat.total_seconds() == 5
