"""The command index (cli/commands_index.py) is the commands as they are, and `--help` imports none of them."""

from __future__ import annotations

from pathlib import Path

from cli_modules import modules_after

from ops_watch.cli.app import generate_index
from ops_watch.cli.index import COMMAND_INDEX

ROOT = Path(__file__).resolve().parents[2]


def test_the_index_is_the_commands_as_registered() -> None:
    current = (ROOT / "ops_watch" / "cli" / "commands_index.py").read_text(encoding="utf-8")
    # ruff formats the file; compare what it holds, not its layout.
    namespace: dict[str, object] = {}
    exec(generate_index(), namespace)  # noqa: S102 - our own generator's output
    assert namespace["COMMAND_INDEX"] == COMMAND_INDEX, (
        "cli/commands_index.py is stale: write it again as cli/index.py says"
    )
    assert "do not edit" in current


def test_help_lists_every_command_without_importing_one() -> None:
    modules, out = modules_after("--help")
    for name, (module, _) in COMMAND_INDEX.items():
        assert f"  {name} " in out
        assert module not in modules, f"--help imported {module}"
    assert not any(m.startswith(("ops_watch.areas", "sqlalchemy", "pydantic")) for m in modules)


def test_a_command_that_reads_the_store_loads_no_plug_in(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n[paths]\nstate_dir = "{tmp_path}"\n')
    modules, out = modules_after("--config", str(config), "status")
    assert out.startswith("主节点：尚无")  # the site language (zh by default)
    assert not any(m.startswith("ops_watch.areas") for m in modules), sorted(
        m for m in modules if m.startswith("ops_watch.areas")
    )
    # A command that judges loads them.
    modules, _ = modules_after("--config", str(config), "rules", "list")
    assert "ops_watch.areas.money.score.commands" in modules


def test_no_help_text_carries_an_internal_requirement_number() -> None:
    import re

    import click

    from ops_watch.cli.app import load_every_command
    from ops_watch.cli.common import COMMANDS

    load_every_command()
    found: list[str] = []

    def walk(cmd: click.Command, path: str) -> None:
        texts = [cmd.help or "", cmd.short_help or ""] + [getattr(p, "help", "") or "" for p in cmd.params]
        found.extend(f"{path}: {t[:80]}" for t in texts if re.search(r"\bR1?\d\b", t))
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")

    for name, cmd in COMMANDS.items():
        walk(cmd, name)
    assert found == [], "help texts name requirement numbers (R1..R16), which mean nothing to a user"


def _starts_with_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text[:10])


def test_every_command_help_starts_with_chinese() -> None:
    import click

    from ops_watch.cli.app import load_every_command
    from ops_watch.cli.common import COMMANDS

    # The center's staff read Chinese: the line `ops-watch --help` (and a group's --help) shows comes first in it.
    english_only = [name for name, (_, text) in COMMAND_INDEX.items() if not _starts_with_chinese(text)]
    load_every_command()

    def walk(cmd: click.Command, path: str) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                if not _starts_with_chinese(sub.get_short_help_str(limit=80)):
                    english_only.append(f"{path} {name}")
                walk(sub, f"{path} {name}")

    for name, cmd in COMMANDS.items():
        walk(cmd, name)
    assert english_only == [], "start the docstring with '中文 / English' (docs/zh/命令.md)"


def test_help_lines_fit_the_terminal_counting_a_chinese_character_as_two_columns() -> None:
    from ops_watch.cli.app import _clip, _columns

    line = _clip("问题列表（最新在前） / List findings, newest first, with their evidence", 40)
    assert _columns(line) <= 40
    assert line.startswith("问题列表（最新在前） / List") and line.endswith("...")
    assert _clip("配置文件 / The configuration file.", 40) == "配置文件 / The configuration file."


def test_every_option_help_has_a_chinese_gloss() -> None:
    import click

    from ops_watch.cli.app import load_every_command, main
    from ops_watch.cli.common import COMMANDS

    # '中文 / English' as the commands' first lines; an option without any help counts too (give it one).
    load_every_command()
    english_only: list[str] = []

    def walk(cmd: click.Command, path: str) -> None:
        for param in cmd.params:
            if not isinstance(param, click.Option) or {"--help", "--version"} & set(param.opts):
                continue  # click writes these two
            if not any("\u4e00" <= ch <= "\u9fff" for ch in param.help or ""):
                english_only.append(f"{path} {param.opts[0]}: {param.help!r}")
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")

    walk(main, "ops-watch")
    for name, cmd in COMMANDS.items():
        walk(cmd, f"ops-watch {name}")
    assert english_only == [], (
        "start each option's help with a short Chinese gloss, then ' / ' and the English"
    )
