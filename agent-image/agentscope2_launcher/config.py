"""The launcher's settings, from the environment the stack sets (see README "AgentScope 2.x")."""
from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import dataclass

from .workspace_settings import SETTINGS_ENV as WORKSPACE_SETTINGS_ENV

# credentials.BY_PROVIDER's keys; not imported from there so that a config error is reported
# before the slow import of agentscope.
PROVIDERS = ("dashscope", "openai")
# Read once, then removed from the environment: code a workspace tool runs in this container
# (LocalWorkspaceManager) inherits the environment of this process.
SECRET_ENV = ("MODEL_API_KEY", "REDIS_PASSWORD", "AGENTSCOPE_DOWNLOAD_SECRET", "OTEL_EXPORTER_OTLP_HEADERS")
ID = re.compile(r"[A-Za-z0-9_.@-]{1,128}")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    log_level: str
    redis_url: str
    redis_password: str | None
    model_provider: str
    model_name: str
    model_base_url: str | None
    model_api_key: str
    agent_id: str
    agent_name: str
    system_prompt: str
    platform_user_id: str
    enable_scheduler: bool
    enable_channel_worker: bool
    download_secret: str | None
    workspace_dir: str
    user_module: str | None
    otlp_headers: str | None = None
    # A JSON file (workspace_settings.py): workspaces are hardened pods in the sandbox namespace;
    # unset: 2.x's LocalWorkspaceManager under workspace_dir, in this container.
    workspace_pod_settings: str | None = None


def _flag(env: MutableMapping[str, str], name: str) -> bool:
    value = env.get(name, "false").strip().lower()
    if value not in ("true", "false"):
        raise ConfigError(f"{name} must be true or false, not {value!r}")
    return value == "true"


def _id(env: MutableMapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    if not ID.fullmatch(value):
        raise ConfigError(f"{name} must be 1-128 of [A-Za-z0-9_.@-]")
    return value


def load(env: MutableMapping[str, str]) -> Config:
    """Reads the settings and pops the secret ones out of `env`."""
    secrets = {name: env.pop(name, "") for name in SECRET_ENV}
    missing = [n for n in ("REDIS_URL", "MODEL_NAME") if not env.get(n)]
    missing += [] if secrets["MODEL_API_KEY"] else ["MODEL_API_KEY"]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)}")
    provider = env.get("MODEL_PROVIDER", "openai")
    if provider not in PROVIDERS:
        raise ConfigError(f"MODEL_PROVIDER must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    if not env["REDIS_URL"].startswith(("redis://", "rediss://")):
        raise ConfigError("REDIS_URL must start with redis:// or rediss://")
    try:
        port = int(env.get("PORT", "8080"))
    except ValueError:
        raise ConfigError("PORT must be a port number") from None
    return Config(
        host=env.get("HOST", "0.0.0.0"),
        port=port,
        log_level=env.get("LOG_LEVEL", "info").lower(),
        redis_url=env["REDIS_URL"],
        redis_password=secrets["REDIS_PASSWORD"] or None,
        model_provider=provider,
        model_name=env["MODEL_NAME"],
        model_base_url=env.get("MODEL_BASE_URL") or None,
        model_api_key=secrets["MODEL_API_KEY"],
        agent_id=_id(env, "AGENT_ID", "default"),
        agent_name=env.get("AGENT_NAME") or "agent",
        system_prompt=env.get("AGENT_SYSTEM_PROMPT") or "You're a helpful assistant.",
        platform_user_id=_id(env, "AGENTSCOPE_PLATFORM_USER_ID", "platform"),
        enable_scheduler=_flag(env, "AGENTSCOPE_ENABLE_SCHEDULER"),
        enable_channel_worker=_flag(env, "AGENTSCOPE_ENABLE_CHANNEL_WORKER"),
        download_secret=secrets["AGENTSCOPE_DOWNLOAD_SECRET"] or None,
        workspace_dir=env.get("AGENTSCOPE_WORKSPACE_DIR") or "/tmp/workspaces",
        user_module=env.get("AGENTSCOPE_USER_MODULE") or None,
        otlp_headers=secrets["OTEL_EXPORTER_OTLP_HEADERS"] or None,
        workspace_pod_settings=env.get(WORKSPACE_SETTINGS_ENV) or None,
    )
