"""`ops-watch contract lint FILE...`: repealed laws cited and required clauses absent in contract text (R9)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.core import ParameterSource

from ops_watch.areas.governance.contract_text.model import (
    COLUMNS,
    ENCODING_LABELS,
    ContractReadError,
    ContractTextSection,
    LawTableError,
    Problem,
    contract_text_terms,
    lint_document,
    load_repealed_laws,
    read_contract,
    unreadable,
)
from ops_watch.cli.common import (
    EXIT_CONFIG,
    command,
    config_problems,
    fail,
    format_option,
    show,
    use_site_language,
)
from ops_watch.config import ConfigError
from ops_watch.runtime import load_settings


@command
@click.group("contract")
def contract_group() -> None:
    """合同文本：引用废止法规、缺少条款 / Contract text (合同文本): repealed laws cited, required clauses absent."""


@contract_group.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option
@click.pass_context
def lint_cmd(ctx: click.Context, files: tuple[Path, ...], fmt: str) -> None:
    """检查合同文件中的问题 / Lint .docx, .txt and .md contracts: one row per problem (file, paragraph, kind, detail, quote,
    replacement). Kinds: repealed_law (a citation of a law in ops_watch/data/repealed_laws.toml, with the
    law to cite instead), clause_missing (no paragraph matches any pattern of a clause in [contract_text]),
    unreadable. Paragraph: the line of a text file, the paragraph of a .docx (tables included).

    Without a config file (none given, none at ./config.toml or /etc/ops-watch/config.toml) the built-in
    clause list is used, in Chinese: a lint needs no site. With one, the site's [contract_text] and language.

    Exit 0 when every file was read, findings or not; 1 when a file could not be read (the others are still
    linted); 2 on a configuration error."""
    terms, language = _site_terms(ctx)
    try:
        laws = load_repealed_laws()
    except LawTableError as exc:
        fail(str(exc), EXIT_CONFIG)
    problems: list[Problem] = []
    failed = 0
    for path in files:
        try:
            doc = read_contract(path)
        except ContractReadError as exc:
            failed += 1
            click.echo(str(exc), err=True)
            problems.append(unreadable(path, exc))
            continue
        found = lint_document(doc, terms, laws, language)
        label = ENCODING_LABELS.get(doc.encoding, doc.encoding)
        if language == "zh":
            click.echo(f"{path}：{label}，{len(doc.paragraphs)} 段，{len(found)} 个问题", err=True)
        else:
            click.echo(
                f"{path}: {label}, {len(doc.paragraphs)} paragraphs, {len(found)} problem(s)", err=True
            )
        problems.extend(found)
    show([p.as_row() for p in problems], COLUMNS, fmt)
    if failed:
        ctx.exit(1)


def _site_terms(ctx: click.Context) -> tuple[ContractTextSection, str]:
    """The site's clauses and language from its config and rules (no store is opened: a lint reads only
    files), or the built-in ones when there is no config file and none was asked for."""
    path: Path = ctx.obj["config_path"]
    if not path.exists() and not _config_asked_for(ctx):
        return ContractTextSection(), "zh"
    try:
        config, rules = load_settings(path, check_secrets=False)
    except ConfigError as exc:
        config_problems(exc)
    use_site_language(config)
    return contract_text_terms(rules.contract), config.language


def _config_asked_for(ctx: click.Context) -> bool:
    """--config or $OPS_WATCH_CONFIG named a file: its absence is an error, not a reason to use defaults."""
    root = ctx.find_root()
    return root.get_parameter_source("config_path") not in (None, ParameterSource.DEFAULT) or bool(
        os.environ.get("OPS_WATCH_CONFIG")
    )
