"""Imported by `runtime-sandbox-server --extension sandbox_manager_ext.activate`
before the server starts (sandbox/manager/server/app.py `main`). WORKERS=1
keeps the serving process the one that imported it."""
from __future__ import annotations

from agentscope_runtime.sandbox.client import async_http_client
from agentscope_runtime.sandbox.manager.server import app as server

import one_ssl_context
from observability import metrics, tracing

from . import json_logs, k8s_client, pods, pool_metrics, routes, telemetry

json_logs.configure()
k8s_client.install(pods.load_settings())
routes.install()
# A new client per forwarded call: see one_ssl_context.
one_ssl_context.install(async_http_client)
# Spans only with OTEL_EXPORTER_OTLP_ENDPOINT; metrics are counted always, served on METRICS_PORT.
tracing.setup("agentscope-sandbox-manager")
telemetry.install(server.app)
server.app.router.add_event_handler("shutdown", tracing.shutdown)  # as its own @on_event
if metrics.serve("METRICS_PORT"):
    pool_metrics.start(lambda: server._sandbox_manager)
