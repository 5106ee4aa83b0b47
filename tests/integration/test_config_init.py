"""`ops-watch config init DIR` writes a config and rules a site starts from; `config schema` describes the config."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ops_watch.cli.app import main
from ops_watch.config import Config
from ops_watch.core.packaged import data_files


def test_init_writes_a_config_that_checks_and_never_overwrites(tmp_path: Path) -> None:
    site = tmp_path / "site"
    runner = CliRunner()
    out = runner.invoke(main, ["config", "init", str(site)])
    assert out.exit_code == 0, out.output
    assert (site / "config.toml").read_bytes() == data_files().example_config.read_bytes()
    shipped = sorted(
        p.relative_to(data_files().rules_dir) for p in data_files().rules_dir.rglob("*") if p.is_file()
    )
    assert (
        sorted(p.relative_to(site / "rules") for p in (site / "rules").rglob("*") if p.is_file()) == shipped
    )
    checked = runner.invoke(main, ["--config", str(site / "config.toml"), "config", "check"])
    assert checked.exit_code == 0 and "：正确；规则目录" in checked.output, checked.output

    (site / "config.toml").write_text("# the site's own\n", encoding="utf-8")
    again = runner.invoke(main, ["config", "init", str(site)])
    assert again.exit_code == 1
    assert str(site / "config.toml") in again.output and "nothing written" in again.output
    assert (site / "config.toml").read_text(encoding="utf-8") == "# the site's own\n"


def test_schema_names_every_section_and_refuses_unknown_keys() -> None:
    out = CliRunner().invoke(main, ["config", "schema"])
    assert out.exit_code == 0, out.output
    schema = json.loads(out.output)
    assert schema["$schema"].endswith("2020-12/schema")
    assert set(schema["properties"]) == set(Config.model_fields) - {"source_path"}
    assert schema["additionalProperties"] is False
    ha = schema["$defs"]["HaConfig"]["properties"]
    assert {"lease", "heartbeat"} <= set(ha)
