"""Who is asking: the user the gateway vouches for, when it vouches for one.

In front of the agent, the gateway (components/assets/gateway.py) always drops a client-sent
`X-User-ID`. With per-user credentials (a token of the user's, or a JWT of the team's identity
provider) it authenticates the caller and sets `X-User-ID` itself; that user then owns the
request, and a body `user_id` naming anyone else is refused (403). Without that header (the
shared-token mode, the default) the caller is trusted to name the user in the body.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar

from pydantic import BaseModel

USER_HEADER = "x-user-id"
# The user the gateway vouched for in the current request (None: the caller names the user); set
# by the Guard, read by the protocol routes, whose bodies have no `user_id` of their own.
vouched_user_var: ContextVar[str | None] = ContextVar("vouched_user", default=None)
# The gateway's own rule for user ids (gateway.py USER_ID).
_USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,128}")


class IdentityRefused(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def vouched_user(headers: Mapping[str, bytes]) -> str | None:
    """The user id the gateway set, or None when the caller names the user."""
    raw = headers.get(USER_HEADER)
    if raw is None:
        return None
    user = raw.decode("latin-1")
    if not _USER_ID.fullmatch(user):
        raise IdentityRefused(400, "bad_request", "X-User-ID must be 1-128 of [A-Za-z0-9_.@-]")
    return user


def bind_user(parsed: BaseModel, user: str) -> None:
    """Sets the body's `user_id` to the vouched user; a different one is refused. A body without
    the field (A2A's JSON-RPC) is left as it is: the turn takes the user from vouched_user_var."""
    if "user_id" not in type(parsed).model_fields:
        return
    claimed = getattr(parsed, "user_id", None)
    if claimed is not None and claimed != user:
        raise IdentityRefused(
            403, "forbidden",
            f"user_id {claimed!r} is not the caller: the gateway authenticated {user!r} "
            "(X-User-ID); omit user_id or send your own",
        )
    parsed.user_id = user  # type: ignore[attr-defined]
