"""The command × flag table of docs/cli.md and docs/zh/命令.md, read from the commands as registered (issue 21:
the same flags for the same things). scripts/flags_table.py writes it; tests/unit/test_flags_table.py fails
when the docs differ from what the commands say now."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from ops_watch.cli.app import load_every_command, main
from ops_watch.cli.common import COMMANDS

BEGIN, END = "<!-- flags:begin -->", "<!-- flags:end -->"

# The shared flags, one column each: the same name means the same thing on every command that has it.
# A range is the pair --from/--to; --header comes with --format (cli.common.format_option).
SHARED: tuple[tuple[str, ...], ...] = (
    ("--from", "--to"),
    ("--month",),
    ("--year",),
    ("--week",),
    ("--at",),
    ("--format",),
    ("--output",),
    ("--lang",),
    ("--wide",),
    ("--header",),
)
SHARED_NAMES = frozenset(name for names in SHARED for name in names)
TITLES_EN = ("command", *("/".join(names) for names in SHARED), "other flags")
ZH_MEANING = {
    "--from/--to": "起止日",
    "--month": "月份",
    "--year": "年度",
    "--week": "周",
    "--at": "截至时间",
    "--format": "格式",
    "--output": "输出文件",
    "--lang": "语言",
    "--wide": "宽表",
    "--header": "表头",
}
TITLES_ZH = ("命令", *(f"{t}（{ZH_MEANING[t]}）" for t in TITLES_EN[1:-1]), "其他参数")


@dataclass(frozen=True)
class CommandFlags:
    """One leaf command: its full name ("findings list"), the primary names of its options, the extra names
    with the primary they stand for (aliases, e.g. check's --since for --from) and its arguments."""

    name: str
    options: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]
    arguments: tuple[str, ...]

    def has(self, *names: str) -> bool:
        return all(name in self.options for name in names)

    @property
    def others(self) -> tuple[str, ...]:
        return tuple(o for o in self.options if o not in SHARED_NAMES)


def _long_names(option: click.Option) -> list[str]:
    names = [n for n in (*option.opts, *option.secondary_opts) if n.startswith("--")]
    return names or list(option.opts)


def _leaves(name: str, cmd: click.Command) -> Iterator[tuple[str, click.Command]]:
    if isinstance(cmd, click.Group):
        for sub_name, sub in sorted(cmd.commands.items()):
            yield from _leaves(f"{name} {sub_name}", sub)
    else:
        yield name, cmd


def command_flags() -> list[CommandFlags]:
    """Every leaf command once every plug-in is loaded, in name order."""
    load_every_command()
    out = []
    for top, cmd in sorted(COMMANDS.items()):
        for name, leaf in _leaves(top, cmd):
            options, aliases, arguments = [], [], []
            for param in leaf.params:
                if isinstance(param, click.Option):
                    names = _long_names(param)
                    options.append(names[0])
                    aliases.extend((alias, names[0]) for alias in names[1:])
                elif isinstance(param, click.Argument):
                    arguments.append(param.human_readable_name)
            out.append(CommandFlags(name, tuple(options), tuple(aliases), tuple(arguments)))
    return out


def _cell(flags: CommandFlags, names: tuple[str, ...]) -> str:
    if flags.has(*names):
        return "✓"
    partial = [n for n in names if n in flags.options]
    return " ".join(f"`{n}` only" for n in partial)  # half a range: a gap the table should show


def _other(flags: CommandFlags, zh: bool) -> str:
    parts = [f"`{a}`" for a in flags.arguments] + [f"`{o}`" for o in flags.others]
    for alias, primary in flags.aliases:
        parts.append(f"`{alias}`（同 `{primary}`）" if zh else f"`{alias}` (= `{primary}`)")
    return ("、" if zh else ", ").join(parts)


def _global_options(zh: bool) -> str:
    # --version and --help print and exit: they are no option *of* a command
    options = [p for p in main.params if isinstance(p, click.Option) and p.expose_value]
    return ("、" if zh else ", ").join(f"`{_long_names(p)[0]}`" for p in options)


def table(zh: bool) -> str:
    """The generated block (without its markers): a note, then one row per command."""
    flags = command_flags()
    titles = TITLES_ZH if zh else TITLES_EN
    note = (
        f"由 `python scripts/flags_table.py` 按程序实际的命令生成，请勿手改。全局参数 {_global_options(zh)} "
        "写在命令名之前，每个命令都可用。✓ 表示该命令有此参数；同名参数在各命令中含义相同。"
        if zh
        else f"Written by `python scripts/flags_table.py` from the commands as registered; do not edit. The "
        f"global options {_global_options(zh)} go before the command's name and work with every command. ✓: the "
        "command has the flag; a flag means the same thing on every command that has it."
    )
    lines = [note, "", "| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for f in flags:
        cells = [f"`{f.name}`", *(_cell(f, names) for names in SHARED), _other(f, zh)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _replace_block(text: str, block: str, heading: str) -> str:
    """`text` with the block between the markers replaced; the heading and markers appended when absent."""
    marked = f"{BEGIN}\n{block}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _m: marked, text, count=1)
    return text.rstrip("\n") + f"\n\n{heading}\n\n{marked}\n"


EN_DOC = ("cli.md", "# The command line\n", "## Flags, command by command")
ZH_DOC = (
    "zh/命令.md",
    "# 命令与参数\n\n"
    "下表列出 ops-watch 的每个命令及其参数：同一件事在各命令中用同一个参数（区间用 `--from/--to`，月份用 "
    "`--month`，截至时间用 `--at`）。\n日期、月份的写法见[每日巡查.md](每日巡查.md)“日期的写法”。\n",
    "## 各命令的参数",
)


def expected(docs: Path, zh: bool) -> str:
    """What the English (or Chinese) page should hold: its text now with the block generated afresh."""
    name, title, heading = ZH_DOC if zh else EN_DOC
    path = docs / name
    text = path.read_text(encoding="utf-8") if path.exists() else title
    return _replace_block(text, table(zh), heading)


def block_of(text: str) -> str | None:
    """The block between the markers of a page, None without them."""
    m = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.DOTALL)
    return m.group(1) if m else None


def write(docs: Path) -> list[Path]:
    """Write both pages; the paths written."""
    written = []
    for zh in (False, True):
        path = docs / (ZH_DOC if zh else EN_DOC)[0]
        path.write_text(expected(docs, zh), encoding="utf-8")
        written.append(path)
    return written
