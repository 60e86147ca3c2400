"""The workspace claim reaper (agent-image/workspace_reaper): which claims go, dry run, conditional
deletes, the figures it prints. Against a stand-in of the API server's PVC calls; on the embedded
cluster in test/e2e/workspaces.test.ts."""
from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace as NS
from typing import Any

import pytest

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from workspace_reaper.__main__ import reap
from workspace_reaper.reaper import Claim, judge, metrics_text, quantity_bytes, selector

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
WS = {"app.kubernetes.io/name": "agentscope-workspace", "agentscope.io/agent": "helper"}


def stamp(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def item(name: str, labels: dict[str, str], last_used_days: float | None = None, created_days: float = 100,
         size: str = "20Gi", deleting: bool = False) -> NS:
    annotations = {"agentscope.io/last-used": stamp(last_used_days)} if last_used_days is not None else None
    return NS(
        metadata=NS(name=name, uid=f"uid-{name}", resource_version="7", labels=labels, annotations=annotations,
                    creation_timestamp=NOW - timedelta(days=created_days), deletion_timestamp=NOW if deleting else None),
        spec=NS(resources=NS(requests={"storage": size})),
    )


class StandInApi:
    """The two calls the reaper makes; the list honours the label selector as the API server does."""

    def __init__(self, items: list[NS], conflict: set[str] | None = None, fail: set[str] | None = None) -> None:
        self.items, self.conflict, self.fail = items, conflict or set(), fail or set()
        self.selectors: list[str] = []
        self.deletes: list[tuple[str, dict[str, Any]]] = []

    async def list_namespaced_persistent_volume_claim(self, namespace: str, label_selector: str = "") -> NS:
        assert namespace == "sandboxes"
        self.selectors.append(label_selector)
        wanted = dict(kv.split("=") for kv in label_selector.split(","))
        return NS(items=[i for i in self.items if all((i.metadata.labels or {}).get(k) == v for k, v in wanted.items())])

    async def delete_namespaced_persistent_volume_claim(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        if name in self.conflict:
            raise type("ApiException", (Exception,), {"status": 409})()
        if name in self.fail:
            raise type("ApiException", (Exception,), {"status": 403})()
        self.deletes.append((name, body))


def world() -> list[NS]:
    return [
        item("as-ws-expired", WS, last_used_days=31),
        item("as-ws-recent", WS, last_used_days=2),
        item("as-ws-unstamped-old", WS, created_days=40),
        item("as-ws-released", {**WS, "agentscope.io/workspace-pool": "released"}, last_used_days=0.01, size="1Gi"),
        item("as-ws-deleting", WS, last_used_days=90, deleting=True),
        item("unlabelled-old", {"app": "db"}, created_days=400),
        item("other-agents-old", {**WS, "agentscope.io/agent": "other"}, last_used_days=400),
    ]


def test_expired_and_released_claims_go_and_nothing_else() -> None:
    api, out = StandInApi(world()), io.StringIO()
    assert asyncio.run(reap(api, "sandboxes", "helper", 30, False, out, now=NOW))
    assert api.selectors == ["app.kubernetes.io/name=agentscope-workspace,agentscope.io/agent=helper"]
    assert sorted(n for n, _ in api.deletes) == ["as-ws-expired", "as-ws-released", "as-ws-unstamped-old"]
    # Each delete is conditional on what was judged: a claim touched since is not deleted.
    assert dict(api.deletes)["as-ws-expired"] == {"preconditions": {"uid": "uid-as-ws-expired", "resourceVersion": "7"}}
    text = out.getvalue()
    assert "keep as-ws-recent" in text and "keep as-ws-deleting: already being deleted" in text
    assert "unlabelled-old" not in text and "other-agents-old" not in text


def test_a_dry_run_deletes_nothing_and_says_what_it_would() -> None:
    api, out = StandInApi(world()), io.StringIO()
    assert asyncio.run(reap(api, "sandboxes", "helper", 30, True, out, now=NOW))
    assert api.deletes == []
    assert out.getvalue().count("would delete ") == 3
    assert 'agentscope_workspace_claims_reaped{agent="helper",dry_run="true"} 3' in out.getvalue()


def test_a_claim_touched_since_the_list_is_left_and_a_refused_delete_fails_the_run() -> None:
    out = io.StringIO()
    assert asyncio.run(reap(StandInApi(world(), conflict={"as-ws-expired"}), "sandboxes", "helper", 30, False, out, now=NOW))
    assert "left as-ws-expired: changed since listed (409)" in out.getvalue()
    assert not asyncio.run(reap(StandInApi(world(), fail={"as-ws-expired"}), "sandboxes", "helper", 30, False, io.StringIO(), now=NOW))


def test_the_figures_count_claims_and_bytes_by_pool_state() -> None:
    out = io.StringIO()
    asyncio.run(reap(StandInApi(world()), "sandboxes", "helper", 30, True, out, now=NOW))
    text = out.getvalue()
    # Five claims of this agent listed: four cold of 20 GiB (one being deleted), one released of 1 GiB.
    assert 'agentscope_workspace_claims{agent="helper",pool="cold"} 4' in text
    assert f'agentscope_workspace_claim_bytes{{agent="helper",pool="cold"}} {4 * 20 * 2**30}' in text
    assert f'agentscope_workspace_claim_bytes{{agent="helper",pool="released"}} {2**30}' in text
    assert "# TYPE agentscope_workspace_claims gauge" in text


def test_judge_refuses_claims_without_the_labels_even_if_listed() -> None:
    c = Claim("x", "u", "1", {"app.kubernetes.io/name": "agentscope-workspace"}, NOW - timedelta(days=99), 1)
    (v,) = judge([c], "helper", NOW, timedelta(days=1))
    assert not v.delete and v.reason == "not this agent's workspace claim"
    assert selector("helper") == "app.kubernetes.io/name=agentscope-workspace,agentscope.io/agent=helper"


def test_an_unreadable_stamp_falls_back_to_the_creation_time() -> None:
    c = Claim("x", "u", "1", WS, NOW - timedelta(days=3), 1, annotations={"agentscope.io/last-used": "yesterday"})
    assert c.last_used() == NOW - timedelta(days=3)


@pytest.mark.parametrize(("text", "size"), [("20Gi", 20 * 2**30), ("1G", 10**9), ("500Mi", 500 * 2**20), ("1.5Gi", int(1.5 * 2**30)), ("0", 0)])
def test_storage_quantities(text: str, size: int) -> None:
    assert quantity_bytes(text) == size


@pytest.mark.parametrize("bad", ["20GB", "", "Gi", "-1Gi"])
def test_bad_quantities_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a storage quantity"):
        quantity_bytes(bad)


def test_metrics_of_no_claims_still_report_the_run() -> None:
    assert 'agentscope_workspace_claims_reaped{agent="a",dry_run="false"} 0' in metrics_text("a", [], 0, False)


def test_the_image_build_context_sends_the_program() -> None:
    """agent-image/.containerignore sends only what the Dockerfile copies: the workspace image's
    `COPY workspace_reaper` failed without this line."""
    from conftest import AGENT_DIR

    lines = (AGENT_DIR / ".containerignore").read_text().splitlines()
    assert "!workspace_reaper/" in lines
    assert "COPY workspace_reaper /opt/workspace-reaper/workspace_reaper" in (AGENT_DIR / "Dockerfile").read_text()
