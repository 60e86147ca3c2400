"""sandbox_manager_ext's pool controller, autoscaler and owner reaper.

The pool runs on upstream's real SandboxManager (agentscope-runtime 1.1.x, in-memory queue and
mapping); only its container client is a double, with the calls and return values of upstream's
KubernetesClient as the extension leaves it (kubernetes_client.py `create` returns
(name, [port], host) once the pod is ready, else (None, None, None); `get_status` is the pod
phase lower-cased; `inspect` None for a missing pod). Creates take `cold_s` of real time, so
refills and claims really overlap."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from prometheus_client import REGISTRY

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from agentscope_runtime.common.container_clients import ContainerClientFactory  # noqa: E402
from agentscope_runtime.sandbox.manager.sandbox_manager import SandboxManager  # noqa: E402
from agentscope_runtime.sandbox.model import SandboxManagerEnvConfig  # noqa: E402
from agentscope_runtime.sandbox.model.container import ContainerState  # noqa: E402
from sandbox_manager_ext import autoscale, owners, pods, pool, pool_metrics  # noqa: E402
from sandbox_manager_ext.autoscale import Bounds, Policy, Scaler  # noqa: E402


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------- the autoscaler: pure rule and scaler ----------

def test_desired_warm_covers_the_claims_of_one_refill_plus_headroom_within_bounds() -> None:
    b = Bounds(minimum=1, maximum=10, headroom=2)
    assert autoscale.desired_warm(b, 0.0, 5.0) == 2  # idle: the headroom
    assert autoscale.desired_warm(b, 1.0, 3.0) == 5  # 3 claims during a 3 s refill, + 2
    assert autoscale.desired_warm(b, 100.0, 3.0) == 10  # capped at max
    assert autoscale.desired_warm(Bounds(3, 10, 0), 0.0, 5.0) == 3  # never under min
    assert autoscale.desired_warm(Bounds(0, 0, 4), 9.0, 9.0) == 0  # max 0: pool off


@pytest.mark.parametrize("bad", [(2, 1, 0), (-1, 1, 0), (0, 1, -1)])
def test_bounds_refuse_nonsense(bad: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="min <= max"):
        Bounds(*bad)


def test_policy_from_the_components_json_and_the_fixed_pool_size_for_other_types() -> None:
    p = autoscale.parse_policy('{"types": {"base": {"min": 1, "max": 8, "headroom": 2}}, "scaleDownAfterSeconds": 120}',
                               ["base", "browser"], 3)
    assert p.bounds == {"base": Bounds(1, 8, 2), "browser": Bounds(3, 3, 0)}
    assert p.scale_down_after_s == 120
    assert autoscale.parse_policy(None, ["base"], 2).bounds == {"base": Bounds(2, 2, 0)}
    with pytest.raises(ValueError, match="does not pool"):
        autoscale.parse_policy('{"types": {"gui": {"min": 0, "max": 1}}}', ["base"], 1)


def test_scaler_goes_up_with_claims_at_once_and_down_only_after_the_idle_period() -> None:
    clock = FakeClock()
    s = Scaler(Bounds(1, 10, 1), scale_down_after_s=300, window_s=60, clock=clock)
    assert s.target() == 1
    s.created(3.0)  # refill time estimate moves towards 3 s
    for _ in range(60):  # one claim a second for a minute
        s.claimed()
        clock.now += 1
    up = s.target()
    assert up == autoscale.desired_warm(s.bounds, s.claims_per_s(), s.refill_s) and up > 1
    clock.now += 120  # claims stopped: the window empties, but the idle period has not passed
    assert s.claims_per_s() == 0 and s.target() == up
    clock.now += 181
    assert s.target() == 1


# ---------- the pool controller on upstream's SandboxManager ----------

class FakeKubernetesClient:
    """What KubernetesClient (with the extension) answers; every pod becomes ready after cold_s."""

    def __init__(self, cold_s: float) -> None:
        self.cold_s = cold_s
        self.pods: dict[str, str] = {}
        self.annotations: dict[str, dict[str, str]] = {}  # what harden_pod stamped on each pod
        self.lock = threading.Lock()
        self.creates = 0
        self.created: list[str] = []
        self.concurrent = 0
        self.max_concurrent = 0

    def create(self, image: str, name: str | None = None, ports: Any = None, volumes: Any = None,
               environment: Any = None, runtime_config: Any = None) -> tuple[Any, Any, Any]:
        assert name and environment and environment["SECRET_TOKEN"]
        with self.lock:
            self.creates += 1
            self.created.append(name)
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
            self.pods[name] = "Pending"
        time.sleep(self.cold_s)
        with self.lock:
            self.concurrent -= 1
            if name not in self.pods:
                return None, None, None
            self.pods[name] = "Running"
        return name, [8090], f"{name}-service.sbx.svc"

    def inspect(self, container_id: str) -> dict[str, Any] | None:
        phase = self.pods.get(container_id)
        meta = {"name": container_id, "annotations": self.annotations.get(container_id, {})}
        return {"metadata": meta, "status": {"phase": phase}} if phase else None

    def get_status(self, container_id: str) -> str | None:
        phase = self.pods.get(container_id)
        return phase.lower() if phase else None

    def stop(self, container_id: str, timeout: Any = None) -> bool:
        return True

    def remove(self, container_id: str, force: bool = False) -> bool:
        with self.lock:
            self.pods.pop(container_id, None)
        return True


@pytest.fixture(autouse=True, scope="module")
def hooks() -> None:
    pool.wrap_manager(SandboxManager)
    owners.wrap_manager(SandboxManager)
    pool_metrics.count_idle_reaps(SandboxManager)


def make_manager(monkeypatch: pytest.MonkeyPatch, client: FakeKubernetesClient, pool_size: int,
                 max_instances: int = 100) -> SandboxManager:
    monkeypatch.setattr(ContainerClientFactory, "create_client", classmethod(lambda cls, deployment_type, config: client))
    config = SandboxManagerEnvConfig(file_system="local", redis_enabled=False, container_deployment="k8s",
                                     pool_size=pool_size, default_mount_dir="", max_sandbox_instances=max_instances,
                                     watcher_scan_interval=0)
    return SandboxManager(config=config, default_type="base")


def wait_until(predicate: Any, timeout_s: float = 20.0) -> bool:
    """Bounded wait for a state (never a timed assertion: it only bounds a hang)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def controllers() -> Iterator[list[pool.PoolController]]:
    made: list[pool.PoolController] = []
    yield made
    for c in made:
        c.stop()


def test_a_claim_starts_the_refill_itself_not_a_later_scan(monkeypatch: pytest.MonkeyPatch, controllers: list[Any]) -> None:
    client = FakeKubernetesClient(cold_s=0.2)
    m = make_manager(monkeypatch, client, pool_size=1)
    # The loop's own period is an hour: only the claim's dequeue can start a refill in time.
    c = pool.install(m, autoscale.parse_policy(None, ["base"], 1), interval_s=3600)
    controllers.append(c)
    queue = m.pool_queues[next(iter(m.pool_queues))]
    assert wait_until(lambda: queue.size() == 1)
    name = m.create_from_pool(meta={"session_ctx_id": "s1"})
    assert name and client.creates == 1  # warm: no create for the claim
    assert wait_until(lambda: queue.size() == 1 and client.creates == 2)
    assert m.scan_pool_once() == {"refill": "pool-controller"}  # upstream's scan only wakes it


def test_a_claim_on_an_empty_pool_takes_the_refill_under_way_not_a_new_cold_create(
        monkeypatch: pytest.MonkeyPatch, controllers: list[Any]) -> None:
    client = FakeKubernetesClient(cold_s=0.5)
    m = make_manager(monkeypatch, client, pool_size=1)
    c = pool.install(m, autoscale.parse_policy(None, ["base"], 1), interval_s=3600)
    controllers.append(c)
    queue = m.pool_queues[next(iter(m.pool_queues))]
    assert wait_until(lambda: queue.size() == 1)
    first = m.create_from_pool(meta={"session_ctx_id": "s1"})  # warm; its refill starts
    assert wait_until(lambda: client.creates == 2)
    second = m.create_from_pool(meta={"session_ctx_id": "s2"})  # pool empty, the refill in flight
    assert first == client.created[0]
    assert second == client.created[1]  # the refill's sandbox, not one of its own
    assert wait_until(lambda: queue.size() == 1 and client.creates == 3)  # and the pool refills again


def filled_then_stopped(monkeypatch: pytest.MonkeyPatch, size: int) -> tuple[FakeKubernetesClient, SandboxManager, Any]:
    """A pool of `size` warm sandboxes whose controller has stopped, as a new manager finds the
    previous one's queue at start."""
    client = FakeKubernetesClient(cold_s=0.05)
    m = make_manager(monkeypatch, client, pool_size=size)
    c = pool.install(m, autoscale.parse_policy(None, ["base"], size), interval_s=3600)
    queue = m.pool_queues[next(iter(m.pool_queues))]
    assert wait_until(lambda: queue.size() == size)
    c.stop()
    return client, m, queue


def queued_names(queue: Any) -> list[str]:
    """The queue's sandboxes in order, the queue left as it was (dequeued and enqueued again)."""
    names = []
    for _ in range(int(queue.size())):
        record = queue.dequeue()
        names.append(record["container_name"])
        queue.enqueue(record)
    return names


def test_warm_sandboxes_made_from_other_settings_are_released_at_start_the_rest_kept_in_order(
        monkeypatch: pytest.MonkeyPatch, controllers: list[Any]) -> None:
    """After `pulumi up` changed the sandboxes (image, size, env), the Redis queue still holds the
    previous manager's warm ones: the new manager must not hand them out."""
    client, m, queue = filled_then_stopped(monkeypatch, 4)
    warm = list(client.created)
    stamp = pods.SETTINGS_DIGEST_ANNOTATION
    client.annotations = {warm[0]: {stamp: "old"}, warm[1]: {stamp: "new"}, warm[3]: {stamp: "new"}}  # warm[2]: none
    del client.pods[warm[3]]  # and one whose pod is gone

    assert pool.drop_stale_warm(m, "new") == 3
    assert queue.size() == 1 and queue.dequeue()["container_name"] == warm[1]
    assert warm[0] not in client.pods and warm[2] not in client.pods  # their pods deleted
    assert {m.container_mapping.get(n)["state"] for n in (warm[0], warm[2], warm[3])} == {ContainerState.RELEASED}
    controllers.append(pool.install(m, autoscale.parse_policy(None, ["base"], 4), interval_s=3600))
    assert wait_until(lambda: queue.size() == 4)  # refilled from the current settings


def test_dropping_stale_ones_keeps_a_current_pool_as_it_was(monkeypatch: pytest.MonkeyPatch, controllers: list[Any]) -> None:
    client, m, queue = filled_then_stopped(monkeypatch, 3)
    client.annotations = {n: {pods.SETTINGS_DIGEST_ANNOTATION: "same"} for n in client.created}
    order = queued_names(queue)  # refills finish in any order: the queue's own order is the reference
    assert sorted(order) == sorted(client.created)
    assert pool.drop_stale_warm(m, "same") == 0
    assert queued_names(queue) == order


def test_only_one_claim_waits_per_refill_the_others_create_at_once(monkeypatch: pytest.MonkeyPatch, controllers: list[Any]) -> None:
    client = FakeKubernetesClient(cold_s=0.5)
    m = make_manager(monkeypatch, client, pool_size=1)
    c = pool.install(m, autoscale.parse_policy(None, ["base"], 1), interval_s=3600)
    controllers.append(c)
    queue = m.pool_queues[next(iter(m.pool_queues))]
    assert wait_until(lambda: queue.size() == 1)
    m.create_from_pool(meta={"session_ctx_id": "s0"})
    assert wait_until(lambda: c.creating["base"] == 1)
    with ThreadPoolExecutor(3) as claims:
        names = list(claims.map(lambda i: m.create_from_pool(meta={"session_ctx_id": f"s{i + 1}"}), range(3)))
    assert all(names) and len(set(names)) == 3
    assert client.created[1] in names  # one of them took the refill
    assert wait_until(lambda: queue.size() == 1 and sum(c.creating.values()) == 0)


def test_a_burst_of_20_with_a_pool_of_2_is_all_served_and_the_pool_refills(monkeypatch: pytest.MonkeyPatch, controllers: list[Any]) -> None:
    client = FakeKubernetesClient(cold_s=0.3)
    m = make_manager(monkeypatch, client, pool_size=2)
    c = pool.install(m, autoscale.parse_policy(None, ["base"], 2), interval_s=3600)
    controllers.append(c)
    queue = m.pool_queues[next(iter(m.pool_queues))]
    assert wait_until(lambda: queue.size() == 2)
    with ThreadPoolExecutor(20) as claims:
        names = list(claims.map(lambda i: m.create_from_pool(meta={"session_ctx_id": f"s{i}"}), range(20)))
    assert all(names) and len(set(names)) == 20
    assert wait_until(lambda: queue.size() == 2 and sum(c.creating.values()) == 0)
    # Warm pool 2, refills 2 (some taken by burst claims that waited for them), on-demand the rest,
    # and the pool refilled to 2 at the end: every claim served, no create wasted.
    assert client.creates == 2 + 18 + 2
    running = [k for k in m.container_mapping.scan(m.prefix) if (m.container_mapping.get(k) or {}).get("state") == "running"]
    assert len(running) == 20


def test_the_pool_follows_the_autoscaler_up_and_back_down(monkeypatch: pytest.MonkeyPatch, controllers: list[Any]) -> None:
    client = FakeKubernetesClient(cold_s=0.05)
    m = make_manager(monkeypatch, client, pool_size=1)
    clock = FakeClock()
    policy = Policy({"base": Bounds(1, 6, 1)}, scale_down_after_s=300, window_s=60)
    c = pool.install(m, policy, clock=clock, interval_s=0.05)
    controllers.append(c)
    queue = m.pool_queues[next(iter(m.pool_queues))]
    assert wait_until(lambda: queue.size() == 1)
    for i in range(30):
        assert m.create_from_pool(meta={"session_ctx_id": f"s{i}"})
    up = c.targets()["base"]
    assert up > 1
    assert wait_until(lambda: queue.size() == up)
    clock.now += 400  # past the window and the idle period
    assert wait_until(lambda: c.targets()["base"] == 1 and queue.size() == 1)
    pool_metrics.poll_once(m)
    assert REGISTRY.get_sample_value("agentscope_sandbox_pool_target", {"sandbox_type": "base"}) == 1
    assert REGISTRY.get_sample_value("agentscope_sandbox_creating", {"sandbox_type": "base"}) == 0


# ---------- owners: sandboxes of a dead agent pod ----------

class FakePods:
    """KubernetesPods' contract: an IP resolves to one running pod's name and UID; alive until deleted."""

    def __init__(self) -> None:
        self.by_ip = {"10.0.0.7": {"name": "agent-a", "uid": "u-1"}, "10.0.0.8": {"name": "agent-b", "uid": "u-2"}}
        self.gone: set[str] = set()
        self.checks: list[str] = []

    def pod_by_ip(self, ip: str) -> dict[str, str] | None:
        owner = self.by_ip.get(ip)
        return dict(owner) if owner and owner["uid"] not in self.gone else None

    def alive(self, owner: dict[str, str]) -> bool:
        self.checks.append(owner["name"])
        return owner["uid"] not in self.gone


def claim_as(m: SandboxManager, ip: str | None, session: str) -> str:
    token = owners.CLIENT_IP.set(ip)
    try:
        return m.create_from_pool(meta={"session_ctx_id": session})
    finally:
        owners.CLIENT_IP.reset(token)


def test_sandboxes_of_a_dead_agent_pod_are_released_others_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeKubernetesClient(cold_s=0.0)
    m = make_manager(monkeypatch, client, pool_size=0)
    reaped: list[str] = []
    pods = FakePods()
    reaper = owners.OwnerReaper(m, pods, on_reaped=reaped.append, interval_s=3600)
    m._agentscope_owners = reaper
    try:
        a1, a2 = claim_as(m, "10.0.0.7", "sa1"), claim_as(m, "10.0.0.7", "sa2")
        b = claim_as(m, "10.0.0.8", "sb")
        forwarded = claim_as(m, "127.0.0.1", "sf")  # a port-forward: no pod owns it
        assert wait_until(lambda: all((m.container_mapping.get(n) or {}).get("meta", {}).get(owners.OWNER_KEY)
                                      for n in (a1, a2, b)))
        assert reaper.reap_once() == [] and sorted(pods.checks) == ["agent-a", "agent-b"]  # one check per pod
        pods.gone.add("u-1")
        assert sorted(reaper.reap_once()) == sorted([a1, a2]) and reaped == ["base", "base"]
        for name in (a1, a2):
            assert m.container_mapping.get(name)["state"] == "released" and name not in client.pods
        for name in (b, forwarded):
            assert m.container_mapping.get(name)["state"] == "running" and name in client.pods
        assert reaper.reap_once() == []  # released ones are not reaped twice
    finally:
        reaper.stop()


def test_a_pod_check_that_fails_is_not_taken_for_a_dead_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeKubernetesClient(cold_s=0.0)
    m = make_manager(monkeypatch, client, pool_size=0)
    pods = FakePods()
    reaper = owners.OwnerReaper(m, pods, interval_s=3600)
    m._agentscope_owners = reaper
    try:
        name = claim_as(m, "10.0.0.7", "s")
        assert wait_until(lambda: (m.container_mapping.get(name) or {}).get("meta", {}).get(owners.OWNER_KEY))
        monkeypatch.setattr(pods, "alive", lambda owner: (_ for _ in ()).throw(RuntimeError("API server down")))
        assert reaper.reap_once() == [] and name in client.pods
    finally:
        reaper.stop()


def test_idle_reaps_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    client = FakeKubernetesClient(cold_s=0.0)
    m = make_manager(monkeypatch, client, pool_size=0)
    before = REGISTRY.get_sample_value("agentscope_sandbox_reaped_total", {"sandbox_type": "base", "reason": "idle"}) or 0
    name = m.create_from_pool(meta={"session_ctx_id": "idle-1"})
    assert m.reap_session("idle-1") is True and name not in client.pods
    assert REGISTRY.get_sample_value("agentscope_sandbox_reaped_total", {"sandbox_type": "base", "reason": "idle"}) == before + 1


def test_the_callers_ip_reaches_the_claim_on_the_servers_worker_thread() -> None:
    """As upstream's create_endpoint runs a claim: asyncio.to_thread, inside the request's context."""
    import asyncio

    import httpx
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/create_from_pool_async")
    async def claim() -> dict[str, str | None]:
        return {"ip": await asyncio.to_thread(owners.CLIENT_IP.get)}

    app.add_middleware(owners.ClientIp)

    async def go() -> Any:
        transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 41234))
        async with httpx.AsyncClient(transport=transport, base_url="http://manager") as client:
            return (await client.post("/create_from_pool_async")).json()

    assert asyncio.run(go()) == {"ip": "10.0.0.7"}
    assert owners.CLIENT_IP.get() is None  # nothing leaks out of the request


def test_kubernetes_pods_reads_the_api_json_it_needs() -> None:
    """KubernetesPods against a CoreV1Api double answering as `_preload_content=False` does: the
    response's bytes, parsed here, never built into V1Pod models."""
    import json
    from types import SimpleNamespace

    class ApiException(Exception):  # kubernetes.client.rest.ApiException's shape: a status
        def __init__(self, status: int, reason: str) -> None:
            super().__init__(reason)
            self.status, self.reason = status, reason

    def pod(name: str, uid: str, phase: str = "Running", deleting: bool = False) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "uid": uid}
        if deleting:
            meta["deletionTimestamp"] = "2026-12-07T15:00:00Z"
        return {"metadata": meta, "status": {"phase": phase}}

    class V1:
        def __init__(self) -> None:
            self.pods = {"agent-a": pod("agent-a", "u-1"), "agent-old": pod("agent-old", "u-0", deleting=True),
                         "agent-done": pod("agent-done", "u-3", phase="Succeeded")}
            self.ips = {"10.0.0.7": ["agent-a", "agent-old"], "10.0.0.9": ["agent-done"], "10.0.0.8": ["agent-a", "agent-a"]}
            self.calls: list[tuple[str, dict[str, Any]]] = []

        def list_namespaced_pod(self, namespace: str, **kw: Any) -> Any:
            self.calls.append(("list", kw))
            ip = kw["field_selector"].split("=", 1)[1]
            return SimpleNamespace(data=json.dumps({"items": [self.pods[n] for n in self.ips.get(ip, [])]}).encode())

        def read_namespaced_pod(self, name: str, namespace: str, **kw: Any) -> Any:
            self.calls.append(("get", kw))
            if name not in self.pods:
                raise ApiException(status=404, reason="Not Found")
            return SimpleNamespace(data=json.dumps(self.pods[name]).encode())

    v1 = V1()
    pods = owners.KubernetesPods(v1, "agents")
    assert pods.pod_by_ip("10.0.0.7") == {"name": "agent-a", "uid": "u-1"}  # the pod being deleted is not it
    assert pods.pod_by_ip("10.0.0.9") is None  # finished
    assert pods.pod_by_ip("10.0.0.8") is None  # two live pods: not one owner
    assert pods.pod_by_ip("10.0.0.1") is None  # no pod: a port-forward, the bench
    assert pods.alive({"name": "agent-a", "uid": "u-1"}) is True
    assert pods.alive({"name": "agent-a", "uid": "u-other"}) is False  # a new pod of the same name
    assert pods.alive({"name": "agent-old", "uid": "u-0"}) is False  # being deleted
    assert pods.alive({"name": "agent-done", "uid": "u-3"}) is False
    assert pods.alive({"name": "agent-gone", "uid": "u-9"}) is False
    assert all(kw.get("_preload_content") is False for _, kw in v1.calls)
    v1.read_namespaced_pod = lambda *a, **kw: (_ for _ in ()).throw(ApiException(status=503, reason="Unavailable"))  # type: ignore[method-assign]
    with pytest.raises(ApiException):  # a failed check is not a dead pod
        pods.alive({"name": "agent-a", "uid": "u-1"})
