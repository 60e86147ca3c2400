# A user's own agentscope-runtime AgentApp (target user-agent) or AgentScope 2.x
# service (target user-agent-agentscope2), built on BASE_IMAGE (CPython 3.11).
# Build context: the user's directory only (the module holding the app object,
# requirements.in, and requirements.txt hash-locked from it). Our part comes
# from KIT_IMAGE, the `user-agent-kit` target of agent-image/Dockerfile:
#   podman build --target user-agent-kit -t <kit> agent-image
#   podman build -f agent-image/user-agent.Dockerfile --build-arg KIT_IMAGE=<kit> \
#     --build-arg BASE_IMAGE=... --build-arg AGENT_APP=app:agent_app \
#     --secret id=pip-ca,src=ca.pem  <user-dir>
# Same guarantees as the agent target: uid/gid 10001, read-only root with only
# /tmp writable, no compiler, no pip in the venv, no pip cache in any layer.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm
ARG KIT_IMAGE=localhost/user-agent-kit

FROM ${KIT_IMAGE} AS kit

# Dependencies: rebuilt only when the user's lock changes.
FROM ${BASE_IMAGE} AS user-deps
COPY --from=kit /opt/kit/install-deps.sh /tmp/build/
COPY requirements.txt /tmp/build/
RUN --mount=type=secret,id=pip-ca --mount=type=cache,target=/root/.cache/pip \
    /tmp/build/install-deps.sh /tmp/build/requirements.txt

# The user's code, compiled: the only layer a code change rebuilds. The lock
# (hundreds of kB of hashes) is already in the deps layer: not needed here.
FROM ${BASE_IMAGE} AS user-code
COPY . /app
RUN rm -f /app/requirements.txt \
    && python3 -m compileall -q --invalidation-mode unchecked-hash /app

# A user's AgentScope 2.x service (--target user-agent-agentscope2): the
# launcher builds it with agentscope.app.create_app and imports the user's
# hooks module, AGENT_APP (a module name, not module:attribute). The user's
# lock must hold agentscope[service,storage-redis] 2.x.
FROM ${BASE_IMAGE} AS user-agent-agentscope2
ARG AGENT_APP=agent_hooks
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PYTHONPATH=/app:/opt/launcher \
    AGENTSCOPE_USER_MODULE=${AGENT_APP} \
    AGENTSCOPE_WORKSPACE_DIR=/tmp/workspaces \
    HOST=0.0.0.0 \
    PORT=8080
USER 10001:10001
COPY --from=user-deps /opt/venv /opt/venv
COPY --from=kit /opt/launcher /opt/launcher
COPY --from=user-code /app /app
# Relative paths the app may write land in /tmp, the one writable place.
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["python", "-m", "agentscope2_launcher"]

# Last, so that a build without --target gives the AgentApp image, as before.
FROM ${BASE_IMAGE} AS user-agent
# AGENT_APP: the app object as module:attribute, the module under /app.
ARG AGENT_APP=app:agent_app
# HOME=/tmp: the runtime writes $HOME/.agentscope-runtime at startup.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    PYTHONPATH=/app:/opt/launcher \
    AGENT_APP=${AGENT_APP} \
    HOST=0.0.0.0 \
    PORT=8080
USER 10001:10001
COPY --from=user-deps /opt/venv /opt/venv
COPY --from=kit /opt/launcher /opt/launcher
COPY --from=user-code /app /app
WORKDIR /app
EXPOSE 8080
ENTRYPOINT ["python", "-m", "agent_launcher"]
