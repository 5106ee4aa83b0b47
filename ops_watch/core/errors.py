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


# Pydantic's messages in Chinese, by error type, for the staff who read no English; the Chinese follows the
# English in brackets, so the line still reads "file: key: reason" from its start. A value_error is one of ops-watch's own
# messages, which name the key and the fix themselves: it stays as written.
_REASON_ZH = {
    "missing": "缺少此项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本（加引号）",
    "list_type": "应为列表（[...]）",
    "dict_type": "应为表（[section] 或 {...}）",
    "model_type": "应为表（[section] 或 {...}）",
    "literal_error": "取值不在可选范围内",
    "enum": "取值不在可选范围内",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "too_short": "项数太少",
    "too_long": "项数太多",
    "string_too_short": "不能为空",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不对",
    "url_parsing": "不是有效的地址",
    "date_from_datetime_parsing": "应为日期，如 2026-11-16",
    "date_parsing": "应为日期，如 2026-11-16",
    "datetime_parsing": "应为日期时间，如 2026-11-16 09:30",
}


def reason(err: dict[str, Any]) -> str:
    """A validation error's reason, with its Chinese where the type is known: "input should be ...（应为整数）"."""
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown setting (check the spelling against config.example.toml)（未知设置项，请核对拼写）"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    english = msg[:1].lower() + msg[1:]
    zh = _REASON_ZH.get(str(err["type"]))
    return f"{english}（{zh}）" if zh else english


__all__ = ["ConfigError", "key_path", "reason"]
