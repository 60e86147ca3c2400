"""Imported by `runtime-sandbox-server --extension sandbox_manager_ext.activate`
before the server starts (sandbox/manager/server/app.py `main`). WORKERS=1
keeps the serving process the one that imported it."""
from __future__ import annotations

from agentscope_runtime.sandbox.client import async_http_client

import one_ssl_context

from . import k8s_client, pods, routes

k8s_client.install(pods.load_settings())
routes.install()
# A new client per forwarded call: see one_ssl_context.
one_ssl_context.install(async_http_client)
