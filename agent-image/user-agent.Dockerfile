# A user's own agentscope-runtime AgentApp, built on BASE_IMAGE (CPython 3.11).
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
