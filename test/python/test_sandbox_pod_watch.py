"""sandbox_manager_ext.pod_watch: the manager's wait for a new sandbox pod, driven by a watch
until the pod runs with an IP, then by its own probe of that address.
The watch double yields what kubernetes.watch.Watch.stream(..., deserialize=False) yields
(kubernetes 37.x, watch/watch.py): each line of the watch response parsed as JSON, `type` and
`object` (the pod as the API server sent it); it raises ApiException where Watch does (an ERROR
event once `timeout_seconds` is set). test/workload/sandbox-extension-upstream.test.ts runs the
same wait with the real client against a loopback server speaking the watch protocol."""
from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from typing import Any

from conftest import AGENT_DIR

sys.path.insert(0, str(AGENT_DIR))

from sandbox_manager_ext import pod_watch  # noqa: E402


def pod(phase: str, ready: bool | None = None, ip: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if ready is not None:
        status["containerStatuses"] = [{"name": "sandbox", "ready": ready}]
    if ip is not None:
        status["podIP"] = ip
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
    """An event as Watch.stream(..., deserialize=False) yields it: the line's JSON."""
    return {"type": kind, "object": obj}


def test_readiness_is_upstreams_rule() -> None:
    assert pod_watch.readiness(pod("Pending")) is None
    assert pod_watch.readiness(pod("Running", False)) is None
    assert pod_watch.readiness(pod("Running")) is None  # no container statuses yet
    assert pod_watch.readiness(pod("Running", True)) is True
    assert pod_watch.readiness(pod("Failed", False)) is False
    assert pod_watch.readiness(pod("Succeeded")) is False


def test_running_ip_needs_the_phase_and_the_address() -> None:
    assert pod_watch.running_ip(pod("Pending", ip="10.0.0.5")) is None  # containers not started
    assert pod_watch.running_ip(pod("Running")) is None
    assert pod_watch.running_ip(pod("Running", False, "10.0.0.5")) == "10.0.0.5"  # not Ready yet: the probe decides
    assert pod_watch.url_host("10.0.0.5") == "10.0.0.5" and pod_watch.url_host("fd00::5") == "[fd00::5]"


def test_running_on_the_event_that_gives_it_an_ip_watching_the_one_pod() -> None:
    clock = Clock()
    streams = Streams(clock, [event("ADDED", pod("Pending")), event("MODIFIED", pod("Pending", False, "10.0.0.5")),
                              event("MODIFIED", pod("Running", False, "10.0.0.5")), event("MODIFIED", pod("Failed"))])
    v1 = V1()
    assert pod_watch.wait_for_running(v1, "sbx", "sandbox-a", 60, streams, clock) == "10.0.0.5"
    assert abs(clock.now - 0.3) < 1e-9  # returned on the 3rd event, never read the 4th
    call = streams.calls[0]
    assert call["func"] == v1.list_namespaced_pod and call["namespace"] == "sbx"
    assert call["field_selector"] == "metadata.name=sandbox-a" and call["timeout_seconds"] == 60
    assert call["deserialize"] is False  # plain JSON, no V1Pod models built
    assert streams.stopped == 1


def test_failed_or_deleted_pods_end_the_wait_at_once() -> None:
    clock = Clock()
    assert pod_watch.wait_for_running(V1(), "sbx", "a", 60, Streams(clock, [event("MODIFIED", pod("Failed", ip="10.0.0.5"))]), clock) is None
    assert pod_watch.wait_for_running(V1(), "sbx", "a", 60, Streams(clock, [event("DELETED", pod("Running", True, "10.0.0.5"))]), clock) is None


def test_a_watch_that_ends_or_breaks_is_started_again() -> None:
    clock = Clock()
    streams = Streams(clock, [event("ADDED", pod("Pending"))],  # the server's timeout ended it
                      [RuntimeError("410 Gone")],
                      [event("ADDED", pod("Running", True, "10.0.0.5"))])
    assert pod_watch.wait_for_running(V1(), "sbx", "a", 60, streams, clock) == "10.0.0.5"
    assert len(streams.calls) == 3 and streams.stopped == 3


def test_gives_up_at_the_timeout() -> None:
    clock = Clock()
    never = [event("MODIFIED", pod("Pending"))] * 1000
    streams = Streams(clock, *([never] * 5), step=1.0)
    assert pod_watch.wait_for_running(V1(), "sbx", "a", 10, streams, clock) is None
    assert 10 <= clock.now <= 11


class ApiError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ReadableV1(V1):
    """read_namespaced_pod answers with `phase` (a V1Pod's shape: .status.phase) or raises."""

    def __init__(self, phase: str | None = "Running", error: Exception | None = None) -> None:
        self.phase, self.error, self.reads = phase, error, 0

    def read_namespaced_pod(self, name: str, namespace: str) -> Any:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return SimpleNamespace(status=SimpleNamespace(phase=self.phase))


class Probe:
    """The manager's probe of the pod's address: answers from the `after`-th try on."""

    def __init__(self, clock: Clock, after: int | None) -> None:
        self.clock, self.after = clock, after
        self.tries: list[tuple[str, int, float]] = []

    def __call__(self, ip: str, port: int) -> bool:
        self.tries.append((ip, port, self.clock.now))
        return self.after is not None and len(self.tries) >= self.after


def serving(v1: Any, probe: Probe, clock: Clock, timeout: float = 60) -> str | None:
    running = Streams(clock, [event("ADDED", pod("Running", False, "10.0.0.5"))], step=0.0)

    def sleep(seconds: float) -> None:
        clock.now += seconds

    return pod_watch.wait_until_serving(v1, "sbx", "a", 8090, timeout, running, probe, clock, sleep)


def test_serving_as_soon_as_the_server_answers_on_the_pods_address() -> None:
    clock = Clock()
    probe, v1 = Probe(clock, after=4), ReadableV1()
    assert serving(v1, probe, clock) == "10.0.0.5"
    assert [t[:2] for t in probe.tries] == [("10.0.0.5", 8090)] * 4
    # A try every PROBE_INTERVAL_S: the server is seen within that of its start, not at the kubelet's next probe.
    assert abs(clock.now - 3 * pod_watch.PROBE_INTERVAL_S) < 1e-9
    assert v1.reads == 0  # answered before the first pod check


def test_a_pod_that_fails_or_goes_while_its_server_never_answers_ends_the_wait() -> None:
    for v1 in (ReadableV1("Failed"), ReadableV1(error=ApiError(404))):
        clock = Clock()
        assert serving(v1, Probe(clock, after=None), clock) is None
        assert v1.reads == 1 and pod_watch.POD_CHECK_S <= clock.now < pod_watch.POD_CHECK_S + 0.5


def test_a_pod_read_that_fails_is_not_a_dead_pod_and_the_timeout_still_holds() -> None:
    clock = Clock()
    v1 = ReadableV1(error=ApiError(503))
    assert serving(v1, Probe(clock, after=None), clock, timeout=10) is None
    assert 10 <= clock.now <= 10.2 and v1.reads == 4  # read every POD_CHECK_S, the failures ignored


def test_the_probe_is_a_get_of_healthz_on_the_address() -> None:
    seen: list[str] = []

    class Healthz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append(self.path)
            self.send_response(200 if self.path == "/healthz" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert pod_watch.answers("127.0.0.1", server.server_address[1]) is True
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["/healthz"]
    assert pod_watch.answers("127.0.0.1", server.server_address[1], timeout=0.5) is False  # nothing listens now
