"""Environment of a sandbox pod. The manager generates SECRET_TOKEN per
sandbox (sandbox_manager.py: `secrets.token_hex(16)`) and passes it in the
pod's env; anything else means a misconfigured pod, so the server refuses it."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# Upstream's fallback (sandbox/box/shared/dependencies/deps.py): public, so never valid.
UPSTREAM_DEFAULT_TOKEN = "secret_token123"
DEFAULT_PORT = 8090


class ConfigError(ValueError):
    """The environment cannot start a safe sandbox server."""


@dataclass(frozen=True)
class Settings:
    token: str
    host: str
    port: int
    workspace: str


def load(env: Mapping[str, str] = os.environ) -> Settings:
    token = env.get("SECRET_TOKEN", "").strip()
    if not token:
        raise ConfigError("SECRET_TOKEN is required (the manager sets one per sandbox)")
    if token == UPSTREAM_DEFAULT_TOKEN:
        raise ConfigError("SECRET_TOKEN is upstream's public default; refusing it")
    port_text = env.get("PORT", "") or str(DEFAULT_PORT)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"PORT must be a TCP port, got {port_text!r}")
    return Settings(
        token=token,
        host=env.get("HOST", "") or "0.0.0.0",
        port=int(port_text),
        workspace=env.get("WORKSPACE_DIR", "") or "/tmp/workspace",
    )
