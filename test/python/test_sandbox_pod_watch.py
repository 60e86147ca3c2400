"""sandbox_manager_ext.pod_watch: the manager's wait for a new sandbox pod, driven by a watch.
The watch double yields what kubernetes.watch.Watch.stream yields (kubernetes 37.x,
watch/watch.py `unmarshal_event`): dicts with `type` and `raw_object` (the pod as the API server
sent it), one per line of the watch response; it raises ApiException where Watch does (an ERROR
event once `timeout_seconds` is set). test/workload/sandbox-extension-upstream.test.ts runs the
same wait with the real client against a loopback server speaking the watch protocol."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

from conftest import AGENT_DIR

sys.path.insert(0, str(AGENT_DIR))

from sandbox_manager_ext import pod_watch  # noqa: E402


def pod(phase: str, ready: bool | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ready is not None:
        status["containerStatuses"] = [{"name": "sandbox", "ready": ready}]
    return {"metadata": {"name": "sandbox-a"}, "status": status}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Streams:
    """One scripted stream per watch started; each entry an event, or an exception to raise."""

    def __init__(self, clock: Clock, *streams: list[Any], step: float = 0.1) -> None:
        self.streams, self.clock, self.step = list(streams), clock, step
        self.calls: list[dict[str, Any]] = []
        self.stopped = 0

    def __call__(self) -> Streams:
        return self

    def stream(self, func: Any, namespace: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(dict(kwargs, namespace=namespace, func=func))
        script = self.streams.pop(0) if self.streams else []
        for item in script:
            self.clock.now += self.step
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self.stopped += 1


class V1:
    def list_namespaced_pod(self, *a: Any, **kw: Any) -> Any:
        raise AssertionError("only the watch calls it")


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "raw_object": obj, "object": obj}


def test_readiness_is_upstreams_rule() -> None:
    assert pod_watch.readiness(pod("Pending")) is None
    assert pod_watch.readiness(pod("Running", False)) is None
    assert pod_watch.readiness(pod("Running")) is None  # no container statuses yet
    assert pod_watch.readiness(pod("Running", True)) is True
    assert pod_watch.readiness(pod("Failed", False)) is False
    assert pod_watch.readiness(pod("Succeeded")) is False


def test_ready_on_the_event_that_makes_it_ready_watching_the_one_pod() -> None:
    clock = Clock()
    streams = Streams(clock, [event("ADDED", pod("Pending")), event("MODIFIED", pod("Running", False)),
                              event("MODIFIED", pod("Running", True)), event("MODIFIED", pod("Failed"))])
    v1 = V1()
    assert pod_watch.wait_for_ready(v1, "sbx", "sandbox-a", 60, streams, clock) is True
    assert abs(clock.now - 0.3) < 1e-9  # returned on the 3rd event, never read the 4th
    call = streams.calls[0]
    assert call["func"] == v1.list_namespaced_pod and call["namespace"] == "sbx"
    assert call["field_selector"] == "metadata.name=sandbox-a" and call["timeout_seconds"] == 60
    assert streams.stopped == 1


def test_failed_or_deleted_pods_end_the_wait_at_once() -> None:
    clock = Clock()
    assert pod_watch.wait_for_ready(V1(), "sbx", "a", 60, Streams(clock, [event("MODIFIED", pod("Failed"))]), clock) is False
    assert pod_watch.wait_for_ready(V1(), "sbx", "a", 60, Streams(clock, [event("DELETED", pod("Running", True))]), clock) is False


def test_a_watch_that_ends_or_breaks_is_started_again() -> None:
    clock = Clock()
    streams = Streams(clock, [event("ADDED", pod("Pending"))],  # the server's timeout ended it
                      [RuntimeError("410 Gone")],
                      [event("ADDED", pod("Running", True))])
    assert pod_watch.wait_for_ready(V1(), "sbx", "a", 60, streams, clock) is True
    assert len(streams.calls) == 3 and streams.stopped == 3


def test_gives_up_at_the_timeout() -> None:
    clock = Clock()
    never = [event("MODIFIED", pod("Pending"))] * 1000
    streams = Streams(clock, *([never] * 5), step=1.0)
    assert pod_watch.wait_for_ready(V1(), "sbx", "a", 10, streams, clock) is False
    assert 10 <= clock.now <= 11
