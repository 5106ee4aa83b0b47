"""Checking a finding's receipt (`ops-watch verify --receipt FILE`) without the store: every row, seal and link
recomputed from the file alone (trail/receipt.py). Exit 0 when it holds, 1 when something does not (each break
named), 2 when the file cannot be read as a receipt."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ops_watch.cli.common import EXIT_CONFIG, EXIT_FAILURE, output_language, say
from ops_watch.trail import receipt


def cli_check_receipt(path: Path | str) -> int:
    """Check the receipt in `path` and print what was found; the exit code."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        result = receipt.check(data)
    except OSError as exc:
        say(
            f"{path}: 无法读取（{exc.strerror}）：请给出 ops-watch findings receipt 写出的文件",
            f"{path}: cannot read ({exc.strerror}): give the file `ops-watch findings receipt` wrote",
            err=True,
        )
        return EXIT_CONFIG
    except ValueError as exc:  # not JSON, or not a receipt (ReceiptError is not a ValueError: below)
        say(f"{path}: 不是 JSON 文件（{exc}）", f"{path}: not a JSON file ({exc})", err=True)
        return EXIT_CONFIG
    except receipt.ReceiptError as exc:
        click.echo(f"{path}: {exc}", err=True)
        return EXIT_CONFIG
    finding = data["finding"]
    if result.ok:
        heads_zh = "；".join(_head(h, "zh") for h in result.heads) or "—"
        heads_en = "; ".join(_head(h, "en") for h in result.heads) or "-"
        say(
            f"收据核验通过：问题 #{finding['id']}（{finding['rule']} {finding['subject']}），"
            f"{result.rows} 行证据、{result.decisions} 条决定记录，链至 {heads_zh}",
            f"receipt holds: finding #{finding['id']} ({finding['rule']} {finding['subject']}), "
            f"{result.rows} evidence rows and {result.decisions} decisions, chained to {heads_en}",
        )
        return 0
    say(
        f"收据核验失败：问题 #{finding['id']} 有 {len(result.problems)} 处不符",
        f"receipt does not hold: finding #{finding['id']}, {len(result.problems)} problem(s)",
    )
    lang = output_language()
    for problem in result.problems:
        click.echo(f"  {problem.text(lang)}")
    return EXIT_FAILURE


def _head(head: dict[str, object], lang: str) -> str:
    """A head as reached: chain, seq, the hash's first 12 digits, and whether (and when) it was published."""
    where = f"{head['chain']} #{head['seq']} {str(head['hash'])[:12]}"
    if lang == "zh":
        return f"{where}（{head['day']} 公布）" if head.get("published") else f"{where}（尚未公布）"
    return f"{where} (published {head['day']})" if head.get("published") else f"{where} (not yet published)"
