"""The sandbox image's server: agentscope-runtime's own sandbox routers
(sandbox/box/shared/routers in the locked wheel) behind a required token,
with no nginx in front (see agent-image/README.md, "Sandbox image")."""
