"""The app: agentscope.app.create_app with RedisStorage and RedisMessageBus, and the platform agent."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from agentscope.app import create_app
from agentscope.app.message_bus import RedisMessageBus
from agentscope.app.storage import RedisStorage
from agentscope.app.workspace_manager import LocalWorkspaceManager, WorkspaceManagerBase
from fastapi import FastAPI
from fastapi.middleware import Middleware
from redis.asyncio.connection import parse_url

from . import credentials, hooks, platform, tracing
from ._otel import tracing as otel
from .config import Config
from .workspace_settings import load_settings

log = logging.getLogger("agentscope2_launcher")


def redis_args(cfg: Config) -> dict[str, Any]:
    """host/port/db (+ TLS for rediss://) for RedisStorage and RedisMessageBus, which forward extra
    keyword arguments to redis.asyncio.ConnectionPool (agentscope/app/storage/_redis_storage.py)."""
    args = parse_url(cfg.redis_url)
    password = cfg.redis_password or args.pop("password", None)
    return {**args, "password": password}


def workspace_manager(cfg: Config) -> WorkspaceManagerBase:
    if cfg.workspace_pod_settings:
        from .workspace_pool import workspace_manager as pods  # needs kubernetes_asyncio

        return pods(load_settings(cfg.workspace_pod_settings))
    return LocalWorkspaceManager(basedir=cfg.workspace_dir)


def build(cfg: Config, traced: bool = False) -> FastAPI:
    extra = hooks.load(cfg.user_module)
    if traced:
        extra["extra_agent_middlewares"] = tracing.with_tracing(extra.get("extra_agent_middlewares"))
    redis = redis_args(cfg)
    if not cfg.download_secret:
        log.warning("AGENTSCOPE_DOWNLOAD_SECRET is unset: workspace download links work only on the replica that made them")
    return create_app(
        storage=RedisStorage(**redis),
        # Redis, not in-memory: events and inbox deliveries reach every replica
        # (agentscope/app/message_bus/_redis_message_bus.py).
        message_bus=RedisMessageBus(**redis),
        workspace_manager=workspace_manager(cfg),
        # The model key stays in this process (credentials.py); the app resolves these types by name.
        extra_credentials=list(credentials.BY_PROVIDER.values()),
        resource_access_policy=platform.SharedPlatformResources(cfg.platform_user_id, cfg.agent_id),
        extra_middlewares=[Middleware(platform.DefaultModel, config=platform.chat_model_config(cfg))],
        # Schedules live in each process's APScheduler; channels hold one connection per bot:
        # both belong on one replica only (create_app's docstring), so off unless asked for.
        enable_scheduler=cfg.enable_scheduler,
        enable_channel_worker=cfg.enable_channel_worker,
        download_secret=cfg.download_secret,
        **extra,
    )


async def seed(cfg: Config) -> None:
    async with RedisStorage(**redis_args(cfg)) as storage:
        await platform.seed(storage, cfg)


def run(cfg: Config) -> None:
    credentials.configure(cfg.model_api_key, cfg.model_base_url)
    traced = tracing.setup(cfg)
    app = build(cfg, traced)
    asyncio.run(seed(cfg))
    log.info("agent %s ready for every user on model %s%s", cfg.agent_id, cfg.model_name,
             ", traces over OTLP" if traced else "")
    try:
        uvicorn.run(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level, server_header=False,
                    proxy_headers=False, timeout_graceful_shutdown=30)
    finally:
        otel.shutdown()  # flushes the last batch of spans
