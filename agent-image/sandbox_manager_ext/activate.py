"""Imported by `runtime-sandbox-server --extension sandbox_manager_ext.activate`
before the server starts (sandbox/manager/server/app.py `main`). WORKERS=1
keeps the serving process the one that imported it."""
from __future__ import annotations

import asyncio
import os

from agentscope_runtime.sandbox.client import async_http_client
from agentscope_runtime.sandbox.manager.sandbox_manager import SandboxManager
from agentscope_runtime.sandbox.manager.server import app as server

import one_ssl_context
from observability import metrics, tracing

from . import autoscale, json_logs, k8s_client, owners, pods, pool, pool_metrics, records, routes, telemetry

# The agents' namespace (their pods are the sandboxes' owners) and how often the reaper looks.
AGENT_NAMESPACE_ENV = "AGENTSCOPE_AGENT_NAMESPACE"
OWNER_CHECK_ENV = "AGENTSCOPE_OWNER_CHECK_SECONDS"

json_logs.configure()
POD_SETTINGS = pods.load_settings()
k8s_client.install(POD_SETTINGS)
routes.install()
# A new client per forwarded call: see one_ssl_context.
one_ssl_context.install(async_http_client)
# Spans only with OTEL_EXPORTER_OTLP_ENDPOINT; metrics are counted always, served on METRICS_PORT.
tracing.setup("agentscope-sandbox-manager")
telemetry.install(server.app)
pool.wrap_manager(SandboxManager)
records.wrap_manager(SandboxManager)
owners.wrap_manager(SandboxManager)
pool_metrics.count_idle_reaps(SandboxManager)
server.app.add_middleware(owners.ClientIp)


async def start_pool() -> None:
    """After upstream's startup (registered first) made the manager and started its watcher."""
    manager = server._sandbox_manager
    pool.raise_server_workers(asyncio.get_running_loop())
    records.install(manager)
    pool.drop_stale_warm(manager, pods.settings_digest(POD_SETTINGS))
    types = [pool.type_name(t) for t in manager.default_type]
    pool.install(manager, autoscale.parse_policy(os.environ.get(autoscale.ENV), types, int(manager.pool_size)))
    namespace = os.environ.get(AGENT_NAMESPACE_ENV)
    if namespace:
        reaper = owners.OwnerReaper(
            manager, owners.KubernetesPods(manager.client.v1, namespace),
            on_reaped=lambda t: pool_metrics.REAPED.labels(sandbox_type=t, reason="owner_gone").inc(),
            interval_s=float(os.environ.get(OWNER_CHECK_ENV, "10")))
        manager._agentscope_owners = reaper
        reaper.run()


async def stop_pool() -> None:
    """Before upstream's shutdown cleanup, which empties the pool: no refill may race it."""
    manager = server._sandbox_manager
    for part in ("_agentscope_pool", "_agentscope_owners"):
        if (running := getattr(manager, part, None)) is not None:
            running.stop()


server.app.router.add_event_handler("startup", start_pool)
server.app.router.on_shutdown.insert(0, stop_pool)
server.app.router.add_event_handler("shutdown", tracing.shutdown)  # as its own @on_event
if metrics.serve("METRICS_PORT"):
    pool_metrics.start(lambda: server._sandbox_manager)
