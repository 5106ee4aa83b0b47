"""How a problem in a file the user wrote is named: ConfigError lists every problem as 'file: key.path: reason'."""

from __future__ import annotations

from typing import Any


class ConfigError(Exception):
    """Start-up cannot go on: `problems` lists each as 'file: key.path: reason'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def key_path(loc: tuple[Any, ...]) -> str:
    parts = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item not in ("function-after", "function-before") and not str(item).startswith("function-"):
            parts.append(str(item))
    return ".".join(parts)


def reason(err: dict[str, Any]) -> str:
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown setting (check the spelling against config.example.toml)"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg[:1].lower() + msg[1:]


__all__ = ["ConfigError", "key_path", "reason"]
