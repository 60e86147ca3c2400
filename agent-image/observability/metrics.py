"""The Prometheus listener: plain HTTP, /metrics, on the port an environment variable names
(METRICS_PORT for the agent and the sandbox manager, GATEWAY_METRICS_PORT for the gateway).
Unset or empty: nothing listens."""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def port_from_env(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    port = int(raw)
    if not 1 <= port <= 65535:
        raise ValueError(f"{name}={raw} is not a port")
    return port


def serve(env_name: str, host: str = "0.0.0.0") -> int | None:
    """Starts prometheus_client's server thread on $env_name; returns the port, or None."""
    port = port_from_env(env_name)
    if port is None:
        return None
    from prometheus_client import start_http_server

    start_http_server(port, addr=host)
    log.info("metrics listening", extra={"port": port, "path": "/metrics"})
    return port
