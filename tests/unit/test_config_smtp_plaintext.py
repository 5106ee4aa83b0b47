"""An SMTP login in clear text (security = "none") is refused unless allow_plaintext_login = true is set on
purpose, and then warned about in the log (issue 17 #14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from ops_watch.config import ConfigError, load_config

SMTP = """
[notify.email]
transport = "smtp"
host = "mail.example.org"
port = 25
security = "{security}"
username = "{username}"
password_env = "OPS_WATCH_TEST_SMTP_PASSWORD"
{extra}
"""


def _config(config_file, security: str = "none", username: str = "ops", extra: str = "") -> Path:
    return config_file(SMTP.format(security=security, username=username, extra=extra))


def test_a_plaintext_login_is_refused_naming_the_key(config_file) -> None:
    path = _config(config_file)
    with pytest.raises(ConfigError) as caught:
        load_config(path, check_secrets=False)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{path.name}: notify.email")
    assert "allow_plaintext_login" in problem and "starttls" in problem and "明文" in problem


def test_config_check_refuses_it_with_exit_2(config_file, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(config_file)
    done = subprocess.run(
        [sys.executable, "-m", "ops_watch", "--config", str(path), "config", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"OPS_WATCH_TEST_SMTP_PASSWORD": "s3cret-pw", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "allow_plaintext_login" in done.stderr


def test_allowed_on_purpose_it_loads_with_a_warning(config_file) -> None:
    path = _config(config_file, extra="allow_plaintext_login = true")
    with structlog.testing.capture_logs() as logs:
        cfg = load_config(path, check_secrets=False)
    assert cfg.notify.email.allow_plaintext_login
    warned = [e for e in logs if e["log_level"] == "warning" and "plaintext" in e["event"]]
    assert len(warned) == 1 and warned[0]["host"] == "mail.example.org:25"


@pytest.mark.parametrize(
    ("security", "username", "transport"),
    [("starttls", "ops", "smtp"), ("tls", "ops", "smtp"), ("none", "", "smtp"), ("none", "ops", "file")],
)
def test_no_login_in_clear_no_refusal_no_warning(
    config_file, security: str, username: str, transport: str
) -> None:
    path = _config(config_file, security, username)
    path.write_text(path.read_text(encoding="utf-8").replace('"smtp"', f'"{transport}"'), encoding="utf-8")
    with structlog.testing.capture_logs() as logs:
        load_config(path, check_secrets=False)
    assert not [e for e in logs if "plaintext" in e["event"]]
