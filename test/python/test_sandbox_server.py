"""agent-image/sandbox_server's start-up rules (the HTTP surface and
run_ipython_cell are exercised in the built image by test_image.py: the
sandbox's dependencies, IPython among them, are not in the agent's lock)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import AGENT_DIR

sys.path.insert(0, str(AGENT_DIR))

from sandbox_server import settings  # noqa: E402


def test_settings_with_a_token_and_defaults() -> None:
    s = settings.load({"SECRET_TOKEN": "0123456789abcdef"})
    assert s == settings.Settings(token="0123456789abcdef", host="0.0.0.0", port=8090, workspace="/tmp/workspace")
    assert settings.load({"SECRET_TOKEN": "t" * 32, "PORT": "9000", "HOST": "127.0.0.1"}).port == 9000


@pytest.mark.parametrize("env", [{}, {"SECRET_TOKEN": ""}, {"SECRET_TOKEN": "  "}, {"SECRET_TOKEN": "secret_token123"}])
def test_settings_refuse_a_missing_empty_or_default_token(env: dict[str, str]) -> None:
    with pytest.raises(settings.ConfigError, match="SECRET_TOKEN"):
        settings.load(env)


@pytest.mark.parametrize("port", ["0", "http", "70000"])
def test_settings_refuse_a_bad_port(port: str) -> None:
    with pytest.raises(settings.ConfigError, match="PORT"):
        settings.load({"SECRET_TOKEN": "t" * 32, "PORT": port})


@pytest.mark.parametrize("token", [None, "secret_token123"])
def test_the_server_exits_2_before_serving_without_its_own_token(token: str | None) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(AGENT_DIR)}
    if token is not None:
        env["SECRET_TOKEN"] = token
    r = subprocess.run([sys.executable, "-m", "sandbox_server"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "SECRET_TOKEN" in r.stderr
