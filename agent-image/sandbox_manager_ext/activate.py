"""Imported by `runtime-sandbox-server --extension sandbox_manager_ext.activate`
before the server starts (sandbox/manager/server/app.py `main`). WORKERS=1
keeps the serving process the one that imported it."""
from __future__ import annotations

from . import k8s_client, pods, routes

k8s_client.install(pods.load_settings())
routes.install()
