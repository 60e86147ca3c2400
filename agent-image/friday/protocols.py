"""The runtime's OpenAI-compatible Responses route and A2A (agent card, JSON-RPC `message/send`),
served through the same turn lifecycle as /process.

agentscope-runtime 1.1.6.post2 hands each protocol adapter the runner's `stream_query`
(`AgentApp._internal_framework_lifespan`), which would skip the session lease, /stop, the final
events and the admission limit. Here the runtime's own adapters (`ResponseAPIDefaultAdapter`,
`A2AFastAPIDefaultAdapter`) are mounted with `protocol_turn` instead, which runs the turn through
`TurnApp.run_and_stream` with the user the gateway vouches for. What the adapters do not do
themselves is added around them:
- their bodies are checked by the Guard (the models below) before the adapter sees them;
- a client that hangs up stops its turn (`ClientGone`): a non-streaming handler never reads the
  connection again, and a2a-sdk runs the turn in a task of its own that outlives the request;
- the `Access-Control-Allow-*` headers the Responses adapter puts on its streams are dropped
  (no browser origin is allowed, as on every other route).
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Any, Literal

from agentscope_runtime.engine.deployers.adapter.a2a.a2a_protocol_adapter import (
    A2A_JSON_RPC_URL,
    A2AFastAPIDefaultAdapter,
    AgentCardWithRuntimeConfig,
)
from agentscope_runtime.engine.deployers.adapter.responses.response_api_protocol_adapter import (
    RESPONSES_ENDPOINT_PATH,
    ResponseAPIDefaultAdapter,
)
from agentscope_runtime.engine.schemas.agent_schemas import AgentRequest, AgentResponse, Error, RunStatus
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .identity import vouched_user_var
from .keys import IDENT
from .turns import INTERNAL, SESSION_BUSY, SessionBusy, TurnApp, turn_workers_var

log = logging.getLogger(__name__)

# a2a-sdk 0.3.26 AGENT_CARD_WELL_KNOWN_PATH; its deprecated `/.well-known/agent.json` is not served.
AGENT_CARD_PATH = "/.well-known/agent-card.json"
DEPRECATED_CARD_PATH = "/.well-known/agent.json"
A2A_PATH = A2A_JSON_RPC_URL
RESPONSES_PATH = RESPONSES_ENDPOINT_PATH
# The POST routes whose requests are turns.
TURN_PATHS = frozenset({RESPONSES_PATH, A2A_PATH})

Ident = Annotated[str, StringConstraints(pattern=IDENT)]
Text = Annotated[str, StringConstraints(min_length=1)]
_IDENT = re.compile(IDENT)

# The Responses request this agent serves: OpenAI's `ResponseCreateParams` fields it uses, the
# rest (model, temperature, ...) passed on and ignored, as the runtime's adapter does.


class ResponsesContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["input_text", "output_text", "text"]
    text: Text


class ResponsesMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system"]
    content: Text | Annotated[list[ResponsesContentPart], Field(min_length=1)]


class ResponsesConversation(BaseModel):
    id: Ident


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    input: Text | Annotated[list[ResponsesMessage], Field(min_length=1)]
    stream: bool = False
    # The session: OpenAI's `conversation` (an id or {"id": ...}), or the runtime's `session_id`.
    conversation: Ident | ResponsesConversation | None = None
    session_id: Ident | None = None
    user_id: Ident | None = None

    @model_validator(mode="after")
    def _served(self) -> ResponsesRequest:
        extra = self.model_extra or {}
        if extra.get("previous_response_id") is not None:
            raise ValueError("previous_response_id is not served (responses are not stored): "
                             "send `conversation` (a session id) to continue a conversation")
        if extra.get("tools"):
            raise ValueError("tools are not served: the agent uses its own tools")
        conversation = self.conversation.id if isinstance(self.conversation, ResponsesConversation) else self.conversation
        if conversation is not None and self.session_id is not None and conversation != self.session_id:
            raise ValueError("conversation and session_id name different sessions: send one of them")
        return self


# A2A JSON-RPC: `message/send` with a user's text message. a2a-sdk's own models check the rest.


class A2ATextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Literal["text"]
    text: Text


class A2AMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: Literal["message"] = "message"
    role: Literal["user"]
    parts: Annotated[list[A2ATextPart], Field(min_length=1)]
    messageId: Annotated[str, StringConstraints(min_length=1, max_length=128)]  # noqa: N815 (A2A's name)
    # The session; a2a-sdk makes up one when absent.
    contextId: Ident | None = None  # noqa: N815
    # No task is ever stored here (the runtime's executor answers with a Message), so none continues.
    taskId: None = None  # noqa: N815


class A2AConfiguration(BaseModel):
    model_config = ConfigDict(extra="allow")
    # A non-blocking send would go on running after its request, outside the admission limit.
    blocking: Literal[True] | None = None
    pushNotificationConfig: None = None  # noqa: N815 (no push notification store)


class A2AParams(BaseModel):
    model_config = ConfigDict(extra="allow")
    message: A2AMessage
    configuration: A2AConfiguration | None = None


class A2ARequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    jsonrpc: Literal["2.0"]
    id: Annotated[str, StringConstraints(max_length=128)] | int
    method: Literal["message/send"] = Field(
        description="the one method served: the card says streaming is off, and no task is stored")
    params: A2AParams


def normalize_responses(parsed: ResponsesRequest) -> dict[str, Any]:
    """The session as `session_id` (what the adapter copies into the AgentRequest)."""
    data = parsed.model_dump(mode="json", exclude_unset=True)
    conversation = data.pop("conversation", None)
    if isinstance(conversation, dict):
        conversation = conversation["id"]
    if conversation is not None:
        data["session_id"] = conversation
    return data


def session_of(path: str, data: dict[str, Any]) -> str | None:
    if path == A2A_PATH:
        return data["params"]["message"].get("contextId")
    return data.get("session_id")


def _failed(request: AgentRequest, code: str, message: str) -> AgentResponse:
    return AgentResponse(id=request.id, session_id=request.session_id, status=RunStatus.Failed,
                         error=Error(code=code, message=message))


def _event(item: Any) -> Any:
    # run_and_stream's own last events (stopped, lease lost) come as SSE lines.
    if isinstance(item, str) and item.startswith("data: "):
        return AgentResponse.model_validate(json.loads(item[len("data: "):]))
    return item


def protocol_turn(app: TurnApp, new_id: Callable[[], str]) -> Callable[..., AsyncIterator[Any]]:
    """The `func` the adapters call with an AgentRequest: a turn as /process runs it."""

    async def turn(request: AgentRequest, **kwargs: Any) -> AsyncIterator[Any]:
        vouched = vouched_user_var.get()
        request.session_id = request.session_id or new_id()
        if vouched is not None and request.user_id not in (None, vouched):
            # The Guard refused this already; a second look costs nothing.
            yield _failed(request, "forbidden", "user_id is not the caller")
            return
        request.user_id = vouched or request.user_id or request.session_id
        if not (_IDENT.match(request.session_id) and _IDENT.match(request.user_id)):
            yield _failed(request, "invalid_request", f"ids must match {IDENT}")
            return
        try:
            async for item in app.run_and_stream(
                request.user_id, request.session_id, app._runner.stream_query, request, **kwargs,
            ):
                yield _event(item)
        except SessionBusy as exc:
            yield _failed(request, SESSION_BUSY, str(exc))
        except Exception:
            log.exception("turn failed")
            yield _failed(request, INTERNAL, "internal error")

    return turn


class ResponsesAdapter(ResponseAPIDefaultAdapter):
    """The runtime's adapter, answering a non-streaming request with the response object, as
    OpenAI's API does: the runtime's answers with its last stream event
    (`{"response": {...}, "type": "response.completed"}`), in which the `openai` SDK finds no output."""

    async def _collect_non_stream_response(self, request: dict, request_id: str) -> dict[str, Any]:
        result = await super()._collect_non_stream_response(request=request, request_id=request_id)
        inner = result.get("response")
        return inner if isinstance(inner, dict) and str(result.get("type", "")).startswith("response.") else result


def agent_card_config(name: str, description: str, url: str) -> AgentCardWithRuntimeConfig:
    """The card: the JSON-RPC URL callers reach (through the gateway when it is on), and bearer
    auth, the one scheme served. No registry (the runtime would look for Nacos in the env)."""
    return AgentCardWithRuntimeConfig(
        agent_card={
            "name": name,
            "description": description,
            "url": url,
            "security_schemes": {
                "bearer": {
                    "type": "http", "scheme": "bearer",
                    "description": "the agent's token; with per-user identity, the user's token or a JWT "
                                   "of the team's identity provider",
                },
            },
            "security": [{"bearer": []}],
        },
        host="127.0.0.1",
    )


def mount(app: TurnApp, *, name: str, description: str, a2a_url: str, new_id: Callable[[], str]) -> None:
    """Adds the Responses and A2A routes to `app` (called from its lifespan, once the runner is up,
    as the runtime itself does)."""
    turn = protocol_turn(app, new_id)
    ResponsesAdapter().add_endpoint(app=app, func=turn)
    A2AFastAPIDefaultAdapter(
        agent_name=name, agent_description=description, a2a_config=agent_card_config(name, description, a2a_url),
    ).add_endpoint(app=app, func=turn)
    app.router.routes = [r for r in app.router.routes if getattr(r, "path", None) != DEPRECATED_CARD_PATH]


class ClientGone:
    """For the protocol routes: when the client hangs up, the turns its request started are
    stopped (as a hang-up stops a /process stream), and CORS headers are dropped."""

    def __init__(self, app: ASGIApp, *, paths: Iterable[str], on_gone: Callable[[set[asyncio.Task]], None]) -> None:
        self.app, self.paths, self.on_gone = app, frozenset(paths), on_gone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        workers: set[asyncio.Task] = set()
        token = turn_workers_var.set(workers)
        gone = asyncio.Event()
        watcher: asyncio.Task | None = None

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            if any(not w.done() for w in workers):
                self.on_gone(workers)

        async def app_receive() -> Message:
            nonlocal watcher
            if watcher is None:
                message = await receive()
                if message["type"] == "http.disconnect" or not message.get("more_body", False):
                    # The body is in: from here on, one reader waits for the hang-up.
                    watcher = asyncio.create_task(watch())
                return message
            await gone.wait()
            return {"type": "http.disconnect"}

        async def no_cors_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message.get("headers", [])
                                      if not k.lower().startswith(b"access-control-")]
            await send(message)

        try:
            await self.app(scope, app_receive, no_cors_send)
        finally:
            if watcher is not None:
                watcher.cancel()
            turn_workers_var.reset(token)

