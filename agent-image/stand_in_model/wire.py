"""OpenAI chat-completions JSON shapes (https://platform.openai.com/docs/api-reference/chat)."""
from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from .script import Piece, Text, ToolCall

JSON = dict[str, Any]
ZERO_USAGE: JSON = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def completion_id() -> str:
    return f"chatcmpl-stand-in-{uuid.uuid4().hex[:16]}"


def finish_reason(pieces: Sequence[Piece]) -> str:
    return "tool_calls" if any(isinstance(p, ToolCall) for p in pieces) else "stop"


def _call(call: ToolCall) -> JSON:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def completion(model: str, pieces: Sequence[Piece]) -> JSON:
    """A whole (non-streamed) answer."""
    calls = [_call(p) for p in pieces if isinstance(p, ToolCall)]
    text = "".join(p.text for p in pieces if isinstance(p, Text))
    message: JSON = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(pieces)}],
        "usage": dict(ZERO_USAGE),
    }


class ChunkWriter:
    """The `chat.completion.chunk` objects of one streamed answer."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = completion_id()
        self.created = int(time.time())
        self._calls = 0
        self._first = True

    def _chunk(self, choices: list[JSON]) -> JSON:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": choices}

    def piece(self, piece: Piece) -> JSON:
        delta: JSON = {"role": "assistant"} if self._first else {}
        self._first = False
        if isinstance(piece, Text):
            delta["content"] = piece.text
        else:
            delta["content"] = None
            delta["tool_calls"] = [{"index": self._calls, **_call(piece)}]
            self._calls += 1
        return self._chunk([{"index": 0, "delta": delta, "finish_reason": None}])

    def finish(self) -> JSON:
        reason = "tool_calls" if self._calls else "stop"
        return self._chunk([{"index": 0, "delta": {}, "finish_reason": reason}])

    def usage(self) -> JSON:
        """Sent last when the request asks for it (`stream_options.include_usage`)."""
        return {**self._chunk([]), "usage": dict(ZERO_USAGE)}


def models(model: str) -> JSON:
    return {"object": "list", "data": [{"id": model, "object": "model", "created": 0, "owned_by": "stand-in"}]}


def error(message: str, kind: str = "invalid_request_error") -> JSON:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
