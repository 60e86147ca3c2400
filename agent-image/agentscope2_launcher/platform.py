"""The platform's agent: created at start-up, readable (not editable) by every user.

AgentScope 2.x keeps agents and credentials per user (`X-User-ID`) and denies other users by
default (agentscope/app/access/_policy.py). The launcher stores one credential and one agent under
a platform user id, and a policy lets every other user read and use exactly those two, so a fresh
deployment answers a new user after one `POST /sessions/` without any set-up call.
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from agentscope.app.access import ResourceAccessPolicyBase, ResourceKind, ResourceRef
from agentscope.app.storage import AgentData, AgentRecord, StorageBase

from .config import Config
from .credentials import BY_PROVIDER

CREDENTIAL_ID = "platform-model"
MAX_SESSION_BODY = 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SharedPlatformResources(ResourceAccessPolicyBase):
    """Every user may read (use) the platform's agent and credential; nothing else is shared."""

    def __init__(self, owner: str, agent_id: str) -> None:
        self.refs = {
            ResourceKind.AGENT: ResourceRef(kind=ResourceKind.AGENT, owner_id=owner, resource_id=agent_id),
            ResourceKind.CREDENTIAL: ResourceRef(kind=ResourceKind.CREDENTIAL, owner_id=owner, resource_id=CREDENTIAL_ID),
        }
        self.owner = owner

    async def list_accessible(self, viewer_id: str, kind: ResourceKind, storage: StorageBase) -> list[ResourceRef]:
        ref = self.refs.get(kind)
        return [ref] if ref is not None and viewer_id != self.owner else []


def chat_model_config(cfg: Config) -> dict[str, Any]:
    """The `chat_model_config` of a session on the platform's model (agentscope/app/storage ChatModelConfig)."""
    return {"type": BY_PROVIDER[cfg.model_provider].model_fields["type"].default,
            "credential_id": CREDENTIAL_ID, "model": cfg.model_name, "parameters": {}}


async def seed(storage: StorageBase, cfg: Config) -> None:
    """Idempotent: every replica writes the same two records at start-up."""
    await storage.upsert_credential(cfg.platform_user_id, BY_PROVIDER[cfg.model_provider](id=CREDENTIAL_ID, name="platform model"))
    data = AgentData(name=cfg.agent_name, system_prompt=cfg.system_prompt)
    await storage.upsert_agent(cfg.platform_user_id, AgentRecord(id=cfg.agent_id, user_id=cfg.platform_user_id, data=data))


class DefaultModel:
    """ASGI middleware on `POST /sessions/`: a session without a `chat_model_config` gets the
    platform's model, and a client-chosen `workspace_id` is refused (422).

    2.x otherwise creates a session with no model, and its first chat fails with 404 "No model
    configuration found" (agentscope/app/_service/_chat.py). And it binds a session to any
    `workspace_id` the body names, unchecked ("always wins", agentscope/app/_router/_session.py),
    while per-user ids are a hash of the user id (`_base.py` assign_workspace_id): any caller could
    open another user's workspace, its files and, as pods, its shell. The manager assigns them here.
    """

    def __init__(self, app: ASGIApp, config: dict[str, Any]) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in ("/sessions", "/sessions/"):
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more and len(body) <= MAX_SESSION_BODY:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # the client left; let the app see it
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if more:
            await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"session request too large"})
            return
        try:
            request = json.loads(body)
        except ValueError:
            request = None  # the app answers 422 itself
        if isinstance(request, dict) and request.get("workspace_id") is not None:
            detail = json.dumps({"detail": "workspace_id is assigned by the platform; leave it out"}).encode()
            await send({"type": "http.response.start", "status": 422, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": detail})
            return
        if isinstance(request, dict) and request.get("chat_model_config") is None:
            body = json.dumps({**request, "chat_model_config": self.config}).encode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
