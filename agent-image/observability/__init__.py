"""Tracing, metrics and log fields shared by the agent, the gateway and the sandbox manager
(issue 13; names in /work OBS-CONTRACT: span, metric and env names). Shipped in the agent and
sandbox-manager images next to one_ssl_context. Everything is off unless configured:
OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on, METRICS_PORT / GATEWAY_METRICS_PORT the listener."""
