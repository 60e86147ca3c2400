"""Redis key names of a (user, session) pair that no other pair can spell.

agentscope's RedisSession (`user_id:{u}:session:{s}:state`) and the runtime's interrupt keys
(`state:{u}:{s}`, `chan:{u}:{s}`) join ids with ":", so ids containing ":" could name another
pair's key. Each id is percent-encoded here ("%" and ":" included), which makes the joined key
injective whatever the ids; ids of the request grammar (IDENT) encode to themselves, so keys
saved before this encoding are the same keys.
"""
from __future__ import annotations

from urllib.parse import quote

# What /process and /stop accept as a user or session id: the gateway's user-id grammar.
IDENT = r"^[A-Za-z0-9._@-]{1,128}$"

# quote() keeps letters, digits and "_.-~" as they are; "@" is in the grammar, so kept too.
_SAFE = "@"


def encode(part: str) -> str:
    return quote(part, safe=_SAFE)


def session_key(user_id: str, session_id: str) -> str:
    """agentscope RedisSession.SESSION_KEY with encoded parts (without the store's prefix)."""
    return f"user_id:{encode(user_id)}:session:{encode(session_id)}:state"


def interrupt_key(user_id: str, session_id: str) -> str:
    """The runtime's InterruptMixin._get_interrupt_key with encoded parts."""
    return f"{encode(user_id)}:{encode(session_id)}"
