"""`ops-watch rules`, `config` and `db`: what the rule files hold, whether the config loads, the schema."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

from ops_watch import plugins
from ops_watch.cli.common import (
    EXIT_CONFIG,
    command,
    config_problems,
    fail,
    format_option,
    output_language,
    say,
    show,
    use_site_language,
)
from ops_watch.config import Config, ConfigError
from ops_watch.runtime import load_settings
from ops_watch.store import StoreError
from ops_watch.store.db import Store, make_engine


@command
@click.group("rules")
def rules_group() -> None:
    """规则及其检查项 / The rules and the checks they use."""


@rules_group.command("list")
@format_option
@click.pass_context
def rules_list(ctx: click.Context, fmt: str) -> None:
    """规则列表及是否运行 / Every rule with its check, severity and params, and whether it runs: a rule whose terms the contract does
    not have (no such section in contract.toml) is not judged, and `judged` says why."""
    try:
        config, rules = load_settings(ctx.obj["config_path"], check_secrets=False)
    except ConfigError as exc:
        config_problems(exc)
    use_site_language(config)
    rows = [
        {
            "id": r.id,
            "check": r.check.name,
            "area": r.check.area,
            "severity": r.severity,
            "enabled": r.enabled,
            "judged": "yes" if r in rules.enabled else (rules.off_reason(r) or "no: enabled = false"),
            "title": r.title,
            "file": r.file,
            "params": r.params.model_dump(mode="json"),
        }
        for r in rules.rules
    ]
    columns = ["id", "check", "area", "severity", "enabled", "judged", "title", "file", "params"]
    show(rows, columns, fmt)


@rules_group.command("plugins")
@format_option
def rules_plugins(fmt: str) -> None:
    """插件点及已注册的名称 / What this installation can do: every plug-in point and the names registered in it (the checks a rule
    may name, the evidence kinds of the drop folder, the sources, the score indicators, ...)."""
    rows = [
        {"registry": what, "name": name, "detail": _detail(item)}
        for what, registry in plugins.registries().items()
        for name, item in registry.items()
    ]
    show(rows, ["registry", "name", "detail"], fmt)


def _detail(item: object) -> str:
    """One line about a plug-in: a check's area, a kind's or an indicator's Chinese name, a section's title."""
    for attr in ("area", "title_zh", "name_zh", "kind"):
        value = getattr(item, attr, None)
        if isinstance(value, str) and value:
            return value
    return ""


@command
@click.group("config")
def config_group() -> None:
    """配置文件 / The configuration file."""


@config_group.command("check")
@format_option
@click.pass_context
def config_check(ctx: click.Context, fmt: str) -> None:
    """校验配置与规则 / Validate the config and the rules; list every problem (exit 2) or say they are fine. json: the verdict
    and what was read; csv/xlsx: one row per problem (file, key, problem)."""
    path: Path = ctx.obj["config_path"]
    try:
        config, rules = load_settings(path)
    except ConfigError as exc:
        if fmt == "table":
            config_problems(exc)
        rows = [_problem_row(p) for p in exc.problems]
        if fmt == "json":
            click.echo(
                json.dumps({"config": str(path), "ok": False, "problems": rows}, ensure_ascii=False, indent=2)
            )
        else:
            show(rows, ["file", "key", "problem"], fmt, titles={"key": "设置项"})
        sys.exit(EXIT_CONFIG)
    use_site_language(config)
    sections = sorted(rules.written if rules.written is not None else rules.contract)
    off = sorted(rules.terms_off().items())
    if fmt != "table":
        rows: list[dict[str, str]] = []  # no problem
        if fmt == "json":
            doc = {
                "config": str(path),
                "ok": True,
                "problems": [],
                "rules_dir": str(config.rules_dir),
                "rules": len(rules.rules),
                "enabled": len(rules.enabled),
                "rule_files": len(rules.files),
                "contract_sections": sections,
                "not_judged": {terms: list(ids) for terms, ids in off},
            }
            click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        else:
            show(rows, ["file", "key", "problem"], fmt, titles={"key": "设置项"})
        return
    zh = output_language() == "zh"
    click.echo(
        f"{path}：正确；规则目录 {config.rules_dir}：{len(rules.files)} 个文件共 {len(rules.rules)} 条规则"
        f"（启用 {len(rules.enabled)} 条），合同条款：{'、'.join(sections)}"
        if zh
        else f"{path}: ok; rules in {config.rules_dir}: {len(rules.rules)} rule(s) "
        f"({len(rules.enabled)} enabled) in {len(rules.files)} file(s), contract sections: {', '.join(sections)}"
    )
    for terms, rule_ids in off:
        click.echo(
            f"不评判：contract.toml 没有 [{terms}] 节，以下规则不运行（{'、'.join(rule_ids)}）；补上该节即可评判"
            if zh
            else f"not judged: contract.toml has no [{terms}] section, so its rules do not run "
            f"({', '.join(rule_ids)}); add the section to judge these terms"
        )


def _problem_row(problem: str) -> dict[str, str]:
    """'file: key.path: reason' as its three parts (a problem without a key has only two)."""
    parts = problem.split(": ", 2)
    if len(parts) == 3:
        return {"file": parts[0], "key": parts[1], "problem": parts[2]}
    if len(parts) == 2:
        return {"file": parts[0], "key": "", "problem": parts[1]}
    return {"file": "", "key": "", "problem": problem}


@config_group.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def config_init(directory: Path) -> None:
    """生成带注释的配置与规则目录 / Write a commented config.toml and the default rules directory into DIRECTORY (created if needed), from the
    installed package: a site starts from them and edits [site], [paths], [store] and [notify]. Nothing that is
    there already is overwritten."""
    from ops_watch.core.packaged import data_files  # start-up: this command only

    try:
        files = data_files()
    except FileNotFoundError as exc:
        fail(str(exc))
    config, rules = directory / "config.toml", directory / "rules"
    taken = [str(p) for p in (config, rules) if p.exists()]
    if taken:
        fail(
            f"{' and '.join(taken)} already exist(s): nothing written. Move it away or choose another directory "
            f"/ 目标已存在，未写入任何文件"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(files.rules_dir, rules)
        shutil.copyfile(files.example_config, config)
    except OSError as exc:
        fail(f"cannot write into {directory}: {exc.strerror or exc}")
    click.echo(
        f"wrote {config} and {rules}/ ({sum(1 for p in rules.rglob('*') if p.is_file())} files).\n"
        f"Next / 下一步: edit {config} ([site], [paths], [store], [notify]), then\n"
        f"  ops-watch --config {config} config check\n"
        f"  ops-watch completion bash   (shell completion: see its --help)"
    )


@config_group.command("schema")
def config_schema() -> None:
    """输出配置的 JSON Schema / Print the config's JSON Schema (draft 2020-12), for an editor that checks config.toml as it is typed (e.g.
    Even Better TOML / Taplo: `#:schema ./ops-watch.schema.json` on the file's first line)."""
    schema = Config.model_json_schema(mode="validation")
    schema["properties"].pop("source_path", None)  # set by load_config, not a key of the file
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ops-watch config.toml"
    click.echo(json.dumps(schema, ensure_ascii=False, indent=2))


@command
@click.group("db")
def db_group() -> None:
    """数据库 / The store."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """升级数据库结构（新库则创建） / Migrate the store to the newest schema (a new database is created)."""

    try:
        config, _ = load_settings(ctx.obj["config_path"])
    except ConfigError as exc:
        config_problems(exc)
    use_site_language(config)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    store = Store(make_engine(config.store_url, config.store.busy_timeout_ms, config.store_password()))
    try:
        before, after = store.upgrade()
    except StoreError as exc:
        fail(str(exc))
    finally:
        store.dispose()
    say(
        f"存储结构：{before or '（新数据库）'} -> {after}",
        f"store schema: {before or '(new database)'} -> {after}",
    )
