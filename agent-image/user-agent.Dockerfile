# A user's own agentscope-runtime AgentApp, built on BASE_IMAGE (CPython 3.11).
# Build context: the user's directory (the module holding the app object,
# requirements.in, and requirements.txt hash-locked from it). Our files come
# from a second context named `agent-image` (this folder):
#   podman build -f agent-image/user-agent.Dockerfile \
#     --build-context agent-image=agent-image \
#     --build-arg BASE_IMAGE=... --build-arg AGENT_APP=app:agent_app \
#     --secret id=pip-ca,src=ca.pem  <user-dir>
# Same guarantees as the agent target: uid/gid 10001, read-only root with only
# /tmp writable, no compiler, no pip in the venv, no pip cache in any layer.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm

# Dependencies: rebuilt only when the user's lock changes.
FROM ${BASE_IMAGE} AS user-deps
COPY --from=agent-image install-deps.sh /tmp/build/
COPY requirements.txt /tmp/build/
RUN --mount=type=secret,id=pip-ca --mount=type=cache,target=/root/.cache/pip \
    /tmp/build/install-deps.sh /tmp/build/requirements.txt

# Our launcher: changes with this repository only.
FROM ${BASE_IMAGE} AS launcher-code
COPY --from=agent-image agent_launcher /opt/launcher/agent_launcher
RUN python3 -m compileall -q --invalidation-mode unchecked-hash /opt/launcher

# The user's code, compiled: the only layer a code change rebuilds. The lock
# (hundreds of kB of hashes) is already in the deps layer: not needed here.
FROM ${BASE_IMAGE} AS user-code
COPY . /app
RUN rm -f /app/requirements.txt \
    && python3 -m compileall -q --invalidation-mode unchecked-hash /app

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
COPY --from=launcher-code /opt/launcher /opt/launcher
COPY --from=user-code /app /app
WORKDIR /app
EXPOSE 8080
ENTRYPOINT ["python", "-m", "agent_launcher"]
