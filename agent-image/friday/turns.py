"""The runtime's AgentApp with our own turn lifecycle around /process.

agentscope-runtime 1.1.6.post2's `InterruptMixin.run_and_stream` marks the
interrupt key `state:<user>:<session>` RUNNING for 3600 s and clears it in a
`finally` that awaits Redis inside the request's cancel scope: a client that
hangs up (Starlette cancels that scope) or a SIGTERM leaves the session locked
for an hour. Here the same keys and channels are used (so `stop_chat` and other
replicas still interoperate), but:
- RUNNING is a lease of `lease_seconds`, renewed while the turn runs, so a turn
  whose process died is free again within one lease;
- the end of a turn runs shielded from the request's cancellation;
- the lease has an owner (lease.py): a turn that finds at a renewal that its lease expired and
  was taken, or that cannot renew it before it expires, ends (`lease_lost`) rather than run
  beside another turn of its session;
- key parts are encoded (keys.py), so no ids can spell another session's keys;
- every ending is a final event in the runtime's response schema: `completed`,
  `canceled` (stopped, client gone, server shutting down) or `failed`.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

import anyio
from agentscope_runtime.engine.app import AgentApp
from agentscope_runtime.engine.deployers.utils.service_utils.interrupt.base_backend import TaskState
from agentscope_runtime.engine.schemas.agent_schemas import (
    AgentRequest,
    AgentResponse,
    Error,
    RunStatus,
)

from .keys import interrupt_key
from .lease import Lease, make_lease
from .telemetry import Turn, track_active_sessions

log = logging.getLogger(__name__)

# How long the end of a turn may take: the handler's save, the sandbox release
# and the final Redis write.
END_OF_TURN_BUDGET_S = 10.0
# What the runtime keeps a finished or stopped state for (its own value).
FINAL_STATE_TTL_S = 600

# Error codes of the final event, documented in agent-image/README.md.
INTERRUPTED = "interrupted"
SHUTTING_DOWN = "server_shutdown"
SESSION_BUSY = "session_busy"
INTERNAL = "internal_error"
LEASE_LOST = "lease_lost"
_STOP_MESSAGES = {
    SHUTTING_DOWN: "the server is shutting down; the turn so far is saved",
    LEASE_LOST: "the turn lost its hold on the session (Redis unreachable, or the lease expired and "
                "another turn took it) and was stopped; the turn so far is saved if the store is reachable",
}
# A renewal that failed is retried this often until the lease would expire.
RENEW_RETRY_S = 1.0


class SessionBusy(RuntimeError):
    pass


# The turns (worker tasks) started for the current request, when its route stops them on a
# hang-up itself (protocols.ClientGone): a2a-sdk runs a turn in a task of its own, which
# inherits this set.
turn_workers_var: ContextVar[set[asyncio.Task] | None] = ContextVar("turn_workers", default=None)


def sse(event: AgentResponse) -> str:
    return f"data: {event.model_dump_json()}\n\n"


def final_event(
    response_id: str | None, session_id: str | None, seq: int, status: str, code: str, message: str,
) -> str:
    return sse(AgentResponse(
        id=response_id, session_id=session_id, sequence_number=seq, status=status,
        error=Error(code=code, message=message),
    ))


class TurnApp(AgentApp):
    def __init__(self, *args: Any, lease_seconds: int, agent_name: str = "agent", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lease_seconds = lease_seconds
        self.agent_name = agent_name
        self._stop_reasons: dict[asyncio.Task, str] = {}
        track_active_sessions(agent_name, lambda: self.open_turns)

    # The runtime picks one of two generators; both go through ours.
    async def _stream_generator(self, request: dict, **kwargs: Any) -> AsyncIterator[str]:
        async for chunk in self._stream_generator_with_interrupt(request, **kwargs):
            yield chunk

    async def _stream_generator_with_interrupt(self, request: dict, **kwargs: Any) -> AsyncIterator[str]:
        req = AgentRequest(**request)
        try:
            async for chunk in self.run_and_stream(
                req.user_id, req.session_id, self._common_stream_generator, request, **kwargs,
            ):
                yield chunk
        except SessionBusy as exc:
            yield final_event(req.id, req.session_id, 0, RunStatus.Failed, SESSION_BUSY, str(exc))
        except Exception:
            log.exception("turn failed")
            yield final_event(req.id, req.session_id, 0, RunStatus.Failed, INTERNAL, "internal error")

    async def run_and_stream(
        self,
        user_id: str,
        session_id: str,
        generator_func: Callable[..., AsyncGenerator[Any, None]],
        *args: Any,
        **kwargs: Any,
    ) -> AsyncGenerator[Any, None]:
        key = self._get_interrupt_key(user_id, session_id)
        lease = make_lease(self._interrupt_backend, key, self.lease_seconds)
        if not await lease.acquire():
            raise SessionBusy(f"session {session_id} of user {user_id} has a turn running; "
                              "wait for it or POST /stop")

        # Under the caller's trace context, which the Guard attached from the request headers.
        turn = Turn(self.agent_name, session_id)
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        async def pump() -> None:
            agen = generator_func(*args, **kwargs)
            try:
                async for item in agen:
                    queue.put_nowait(("data", item))
                queue.put_nowait(("done", None))
            except asyncio.CancelledError:
                queue.put_nowait(("cancelled", None))
                raise
            except Exception as exc:
                queue.put_nowait(("error", exc))
            finally:
                await agen.aclose()

        worker = turn.run(lambda: asyncio.create_task(pump()))
        self._local_tasks[key] = worker
        if (request_workers := turn_workers_var.get()) is not None:
            request_workers.add(worker)
        listener = asyncio.create_task(self._interrupt_signal_listener(f"chan:{key}", worker))
        heartbeat = asyncio.create_task(self._keep_lease(key, lease, worker))
        ending = TaskState.ERROR
        seq, response_id, last = 0, None, None
        try:
            while True:
                kind, value = await queue.get()
                if kind == "data":
                    if response_id is None:
                        response_id = _response_id(value)
                    seq += 1
                    last = value
                    yield value
                elif kind == "done":
                    ending = TaskState.FINISHED
                    break
                elif kind == "cancelled":
                    ending = TaskState.STOPPED
                    code = self._stop_reasons.pop(worker, INTERRUPTED)
                    message = _STOP_MESSAGES.get(code, "the turn was stopped; the turn so far is saved")
                    yield final_event(response_id, session_id, seq, RunStatus.Canceled, code, message)
                    break
                else:
                    raise value
        finally:
            # A hung-up client cancels this generator's scope: without the
            # shield, every await below would be cancelled too.
            with anyio.CancelScope(shield=True):
                await self._end_turn(key, lease, worker, listener, heartbeat, ending)
            status = _field(last, "status") or ("canceled" if ending == TaskState.STOPPED else "failed")
            turn.end(ok=ending == TaskState.STOPPED or (ending == TaskState.FINISHED and status != RunStatus.Failed),
                     status=status)

    def _get_interrupt_key(self, user_id: str, session_id: str) -> str:
        return interrupt_key(user_id, session_id)

    async def _keep_lease(self, key: str, lease: Lease, worker: asyncio.Task) -> None:
        """Renews every third of the lease; a renewal that fails is retried until the lease would
        expire. A lease found taken, or about to expire unrenewed, stops the turn (`lease_lost`)."""
        loop = asyncio.get_running_loop()
        expires = loop.time() + self.lease_seconds
        wait = self.lease_seconds / 3
        while True:
            await asyncio.sleep(wait)
            started = loop.time()
            try:
                # No use waiting for an answer past the lease's end.
                with anyio.fail_after(max(0.5, expires - started - RENEW_RETRY_S)):
                    held = await lease.renew()
            except Exception:
                log.warning("could not renew the turn lease", exc_info=True)
                held = loop.time() + RENEW_RETRY_S < expires
                wait = RENEW_RETRY_S
            else:
                expires, wait = started + self.lease_seconds, self.lease_seconds / 3
            if not held:
                log.error("turn lease lost: stopping the turn", extra={"key": key})
                self._stop_reasons[worker] = LEASE_LOST
                worker.cancel()
                return

    async def _end_turn(
        self, key: str, lease: Lease, worker: asyncio.Task, listener: asyncio.Task, heartbeat: asyncio.Task,
        ending: TaskState,
    ) -> None:
        listener.cancel()
        heartbeat.cancel()
        if not worker.done() and ending == TaskState.ERROR:
            # The client went away: the handler stops the agent and saves.
            log.info("client went away, stopping the turn")
            worker.cancel()
        done, pending = await asyncio.wait({worker, listener, heartbeat}, timeout=END_OF_TURN_BUDGET_S)
        if pending:
            log.warning("turn did not end in time", extra={"pending": len(pending)})
        if ending == TaskState.ERROR and worker.done() and worker.cancelled():
            ending = TaskState.STOPPED
        if self._local_tasks.get(key) is worker:
            del self._local_tasks[key]
        self._stop_reasons.pop(worker, None)
        try:
            with anyio.fail_after(5):
                # Only if still ours: a turn that lost its lease must not free another turn's session.
                await lease.release(ending, FINAL_STATE_TTL_S)
        except Exception:
            # The lease expires on its own within lease_seconds.
            log.warning("could not release the turn lease", exc_info=True)

    async def stop_turn(self, user_id: str, session_id: str) -> None:
        """Stops a session's running turn: at once when it runs in this process (no Redis
        needed), else through the interrupt channel, on whichever replica runs it."""
        worker = self._local_tasks.get(self._get_interrupt_key(user_id, session_id))
        if worker is not None:
            worker.cancel()
            return
        await self.stop_chat(user_id=user_id, session_id=session_id)

    @property
    def open_turns(self) -> int:
        return len(self._local_tasks)

    def client_gone(self, workers: set[asyncio.Task]) -> None:
        """Stops the turns of a request whose client hung up; each saves itself."""
        log.info("client went away, stopping the turn")
        for task in workers:
            if not task.done():
                task.cancel()

    async def interrupt_all(self, reason: str) -> int:
        """Stops every turn this process runs; each saves itself and ends its
        stream with a final `canceled` event carrying `reason`."""
        tasks = list(self._local_tasks.values())
        for task in tasks:
            self._stop_reasons[task] = reason
            task.cancel()
        return len(tasks)


def _field(chunk: Any, name: str) -> str | None:
    # Events come as "data: {json}\n\n" (/process) or as the runner's objects (protocols.py).
    if isinstance(chunk, str) and chunk.startswith("data: "):
        try:
            return json.loads(chunk[6:]).get(name)
        except ValueError:
            return None
    value = getattr(chunk, name, None)
    return value if isinstance(value, str) else None


def _response_id(chunk: Any) -> str | None:
    # The runner's first event is the response itself.
    return _field(chunk, "id")
