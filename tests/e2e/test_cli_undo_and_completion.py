"""Commands as a user runs them (subprocesses): findings by area, decisions taken back (unack, unsilence,
silence --expire), `contract lint` with no config at all, and the shell completion scripts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPS_WATCH = Path(sys.executable).parent / "ops-watch"  # the console script the completion calls back


def ops(config: Path | None, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    head = [sys.executable, "-m", "ops_watch"] + (["--config", str(config)] if config else [])
    return subprocess.run(
        [*head, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env or os.environ.copy()
    )


def ok(config: Path, *args: str) -> str:
    proc = ops(config, *args)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def listed(config: Path, *args: str) -> list[dict]:
    return json.loads(ok(config, "findings", "list", "--format", "json", *args))


@pytest.fixture
def demo_config(config_file, tmp_path) -> Path:
    text = (REPO / "config.example.toml").read_text(encoding="utf-8")
    cfg = config_file(text[text.index("\n[doors]\n") : text.index("\n[utilization]\n")])
    shutil.copytree(REPO / "examples", tmp_path / "var" / "drop")
    return cfg


def test_area_filter_unack_unsilence_and_expire_on_the_demo(demo_config: Path) -> None:
    ok(demo_config, "run", "--once")
    every = listed(demo_config)
    areas = {r["area"] for r in every}
    assert {"staffing", "resources"} <= areas, areas
    staffing = listed(demo_config, "--area", "staffing")
    assert staffing and {r["area"] for r in staffing} == {"staffing"}
    assert {r["id"] for r in staffing} == {r["id"] for r in every if r["area"] == "staffing"}
    table = ok(demo_config, "findings", "list", "--area", "resources")
    assert table.splitlines()[0].split()[:3] == ["编号", "级别", "状态"]

    # unack: back to open, with who and why; a finding that is not acknowledged is refused, naming its status.
    first = staffing[0]["id"]
    ok(demo_config, "findings", "ack", str(first), "--by", "李工", "--why", "已整改")
    out = ok(demo_config, "findings", "unack", str(first), "--by", "张科长", "--why", "整改未完成")
    assert f"问题 {first} 已重新打开" in out
    shown = json.loads(ok(demo_config, "findings", "show", str(first), "--format", "json"))
    assert shown["status"] == "open"
    assert shown["history"][-1] | {"at": None} == {
        "at": None,
        "action": "unacknowledged",
        "by": "张科长",
        "why": "整改未完成",
        "until": None,
    }
    again = ops(demo_config, "findings", "unack", str(first), "--by", "张科长", "--why", "x")
    assert again.returncode == 1 and f"finding {first} is open, not acknowledged" in again.stderr

    # silence --expire: every staffing finding silenced by one silence, then ended early; all open at once.
    made = ok(
        demo_config,
        "findings",
        "silence",
        "--area",
        "staffing",
        "--for",
        "7d",
        "--by",
        "张科长",
        "--why",
        "核查中",
    )
    silence_id = int(re.search(r"#(\d+)", made).group(1))
    assert {r["status"] for r in listed(demo_config, "--area", "staffing")} == {"silenced"}
    # unsilence of one of them names the silence to end instead.
    held = ops(demo_config, "findings", "unsilence", str(first), "--by", "a", "--why", "b")
    assert held.returncode == 1 and f"--expire {silence_id}" in held.stderr
    ended = ok(
        demo_config, "findings", "silence", "--expire", str(silence_id), "--by", "王处长", "--why", "核查完毕"
    )
    assert f"静默 #{silence_id} 已由 王处长 结束：{len(staffing)} 个问题重新打开" in ended
    assert {r["status"] for r in listed(demo_config, "--area", "staffing")} == {"open"}
    assert json.loads(ok(demo_config, "findings", "silences", "--format", "json")) == []
    twice = ops(demo_config, "findings", "silence", "--expire", str(silence_id), "--by", "a", "--why", "b")
    assert twice.returncode == 1 and f"silence #{silence_id} has already ended" in twice.stderr

    # A finding's own silence ends with unsilence.
    ok(demo_config, "findings", "silence", str(first), "--for", "1d", "--by", "李工", "--why", "维护窗口")
    ok(demo_config, "findings", "unsilence", str(first), "--by", "张科长", "--why", "维护取消")
    shown = json.loads(ok(demo_config, "findings", "show", str(first), "--format", "json"))
    assert shown["status"] == "open" and shown["history"][-1]["action"] == "unsilenced"


def test_unknown_area_and_silence_are_clear_errors(config_file) -> None:
    cfg = config_file()
    bad = ops(cfg, "findings", "list", "--area", "finance")
    assert bad.returncode == 2
    assert "'finance' is not one of" in bad.stderr and "staffing" in bad.stderr and "money" in bad.stderr
    unknown = ops(cfg, "findings", "silence", "--expire", "42", "--by", "a", "--why", "b")
    assert unknown.returncode == 1 and "no silence #42" in unknown.stderr
    mixed = ops(cfg, "findings", "silence", "--expire", "1", "--for", "1d", "--by", "a", "--why", "b")
    assert mixed.returncode == 2 and "--expire takes only --by and --why, not --for" in mixed.stderr
    zero = ops(cfg, "findings", "silence", "--area", "staffing", "--for", "0s", "--by", "a", "--why", "b")
    assert zero.returncode == 2 and "to end one early: `findings silence --expire SILENCE_ID`" in zero.stderr
    missing = ops(cfg, "findings", "unack", "99999", "--by", "a", "--why", "b")
    assert missing.returncode == 1 and "no finding with id 99999" in missing.stderr


def _no_config_env() -> dict[str, str]:
    env = os.environ.copy()
    env.pop("OPS_WATCH_CONFIG", None)
    return env


def test_contract_lint_needs_no_config(tmp_path: Path) -> None:
    if Path("/etc/ops-watch/config.toml").exists():
        pytest.skip("/etc/ops-watch/config.toml exists here: the lint would (rightly) use it")
    contract = tmp_path / "c.txt"
    contract.write_text("第一条 依据《中华人民共和国合同法》执行。\n第二条 驻场人员3人。\n", encoding="utf-8")
    proc = ops(None, "contract", "lint", "--format", "json", "c.txt", cwd=tmp_path, env=_no_config_env())
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    kinds = [(r["kind"], r["detail"]) for r in rows]
    assert kinds[0][0] == "repealed_law" and "中华人民共和国合同法" in kinds[0][1]
    missing = {d for k, d in kinds if k == "clause_missing"}
    assert missing and not any("驻场人员数量" in d for d in missing)  # the built-in clauses, in Chinese
    assert not (tmp_path / "var").exists()  # no store, no state dir: a lint writes nothing
    # A config asked for by name and absent is still an error, not a reason to use the built-in list.
    named = ops(tmp_path / "absent.toml", "contract", "lint", "c.txt", cwd=tmp_path, env=_no_config_env())
    assert named.returncode == 2 and "absent.toml: cannot read the config file" in named.stderr


def test_contract_lint_with_a_config_uses_the_sites_clauses(config_file, tmp_path: Path) -> None:
    cfg = config_file()
    contract_toml = tmp_path / "rules" / "contract.toml"
    contract_toml.write_text(
        contract_toml.read_text(encoding="utf-8")
        + '\n[contract_text]\nrequired_clauses = [{ name = "本地条款", patterns = ["本地"] }]\n',
        encoding="utf-8",
    )
    (tmp_path / "c.txt").write_text("驻场人员3人。\n", encoding="utf-8")
    proc = ops(cfg, "contract", "lint", "--format", "json", str(tmp_path / "c.txt"))
    assert proc.returncode == 0, proc.stderr
    missing = [r["detail"] for r in json.loads(proc.stdout) if r["kind"] == "clause_missing"]
    assert len(missing) == 1 and "本地条款" in missing[0]  # the site's list, not the built-in one


def _completion_env(**extra: str) -> dict[str, str]:
    env = os.environ.copy()
    env["PATH"] = f"{OPS_WATCH.parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def test_bash_completion_script_is_valid_and_completes_commands(tmp_path: Path) -> None:
    if not OPS_WATCH.exists():
        pytest.skip(f"no console script at {OPS_WATCH} (install ops-watch into this venv: make venv)")
    script = subprocess.run(
        [str(OPS_WATCH), "completion", "bash"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "complete -o nosort -F _ops_watch_completion ops-watch" in script
    path = tmp_path / "ops-watch.bash"
    path.write_text(script, encoding="utf-8")
    syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr

    # The protocol click documents: the words and the cursor's word in the environment.
    env = _completion_env(COMP_WORDS="ops-watch fin", COMP_CWORD="1", _OPS_WATCH_COMPLETE="bash_complete")
    answer = subprocess.run([str(OPS_WATCH)], capture_output=True, text=True, timeout=60, env=env)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["plain,findings"]
    # A sub-command's choices complete too, from the command itself.
    env.update(COMP_WORDS="ops-watch findings list --area st", COMP_CWORD="4")
    answer = subprocess.run([str(OPS_WATCH)], capture_output=True, text=True, timeout=60, env=env)
    assert answer.stdout.split() == ["plain,staffing"]

    # And the script itself, sourced in bash, fills COMPREPLY as the shell would on Tab.
    probe = f'source {path}; COMP_WORDS=(ops-watch fin); COMP_CWORD=1; _ops_watch_completion ops-watch; echo "${{COMPREPLY[@]}}"'
    sourced = subprocess.run(
        ["bash", "-c", probe], capture_output=True, text=True, timeout=60, env=_completion_env()
    )
    assert sourced.stdout.split() == ["findings"], sourced.stderr


def test_zsh_completion_script(tmp_path: Path) -> None:
    if not OPS_WATCH.exists():
        pytest.skip(f"no console script at {OPS_WATCH} (install ops-watch into this venv: make venv)")
    script = subprocess.run(
        [str(OPS_WATCH), "completion", "zsh"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert script.startswith("#compdef ops-watch") and "_OPS_WATCH_COMPLETE=zsh_complete" in script
    zsh = shutil.which("zsh")
    if zsh:  # the syntax check needs zsh; the script's content is checked above either way
        path = tmp_path / "_ops-watch"
        path.write_text(script, encoding="utf-8")
        syntax = subprocess.run([zsh, "-n", str(path)], capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr
    bad = subprocess.run([str(OPS_WATCH), "completion", "fish"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "'fish' is not one of 'bash', 'zsh'" in bad.stderr
