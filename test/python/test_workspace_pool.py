"""The warm pool of 2.x workspace pods (agent-image/agentscope2_launcher/workspace_pool.py) and the
owner labels of workspace pods and claims, against a stand-in of the API server
(as2_workspace_pool_probe.py, run under the 2.x venv); its settings (workspace_settings.py). The
pool on the embedded cluster: test/e2e/workspaces.test.ts."""
from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import fake_model  # noqa: F401 - puts agent-image/ on sys.path
from agentscope2_launcher.workspace_settings import (
    SettingsError,
    WarmPoolSettings,
    WorkspacePodSettings,
    owner_labels,
    user_hash,
    workspace_pod,
    workspace_pvc,
)
from conftest import AGENT_DIR
from test_agentscope2 import PYTHON
from test_agentscope2_workspaces import settings

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = subprocess.run([str(PYTHON), str(HERE / "as2_workspace_pool_probe.py"), json.dumps(settings())],
                         capture_output=True, text=True, timeout=120,
                         env={"PATH": os.environ["PATH"], "HOME": str(tmp_path_factory.mktemp("home")), "PYTHONPATH": str(AGENT_DIR)})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_without_a_pool_the_manager_is_the_plain_hardened_one(found: dict[str, Any]) -> None:
    assert found["plain_without_pool"] == "HardenedK8sWorkspaceManager"


def test_a_warm_pod_and_its_claim_say_warm_whose_and_of_which_agent(found: dict[str, Any]) -> None:
    for labels in (found["warm_pod_labels"], found["warm_pvc_labels"]):
        assert labels["agentscope.io/workspace-pool"] == "warm"
        assert labels["agentscope.io/warm-owner"] == "agent-helper-0"
        assert labels["agentscope.io/agent"] == "helper"
        assert labels["app.kubernetes.io/name"] == "agentscope-workspace"
        assert "agentscope.io/user-hash" not in labels  # nobody's yet
    assert found["warm_pvc_annotations"] == ["agentscope.io/last-used"]


def test_a_new_session_takes_the_warm_workspace_and_it_is_relabelled_for_its_user(found: dict[str, Any]) -> None:
    assert found["claimed_the_warm_one"] and found["in_cache"]
    assert found["claim_calls"] == ["patch pod", "patch pvc"]  # no create: the pod and claim exist
    for labels in (found["claimed_pod_labels"], found["claimed_pvc_labels"]):
        assert labels["agentscope.io/workspace-pool"] == "claimed"
        assert labels["agentscope.io/user-hash"] == user_hash("alice") and "alice" not in json.dumps(labels)
    assert found["served_warm_cold"] == [1, 0]


def test_the_pool_follows_claims_up_and_falls_back_to_min_after_the_idle_period(found: dict[str, Any]) -> None:
    assert found["target_after_claim"] == 2  # ceil(1/60 claims per s * refill s) + headroom 1
    assert found["target_after_idle"] == 1


def test_shutdown_closes_unclaimed_warm_pods_and_releases_their_claims(found: dict[str, Any]) -> None:
    assert found["released_at_shutdown"] and set(found["released_at_shutdown"]) == {"released"}
    assert "as-ws-leftover" not in found["pods_left_after_shutdown"]


def test_a_restart_deletes_its_previous_runs_warm_pods_not_another_replicas(found: dict[str, Any]) -> None:
    assert found["leftovers"] == ["as-ws-others"]
    assert "as-ws-others" in found["pods_left_after_shutdown"]


def test_a_warm_pod_gone_while_in_the_buffer_is_not_handed_out(found: dict[str, Any]) -> None:
    assert found["gone_warm_pod_not_handed_out"] is True
    assert found["gone_warm_claim_released"] == "released"


def test_per_user_workspaces_never_come_from_the_pool_and_the_cold_path_labels_its_claim(found: dict[str, Any]) -> None:
    assert found["per_user_from_pool"] is False
    for labels in (found["cold_pvc_labels"], found["cold_pod_labels"]):
        assert labels["agentscope.io/user-hash"] == user_hash("bob") and labels["agentscope.io/agent"] == "helper"
        assert "agentscope.io/workspace-pool" not in labels


def test_warm_pool_settings_parse_and_bad_ones_are_refused() -> None:
    s = WorkspacePodSettings.from_json(settings(warmPool={"min": 2, "max": 5, "headroom": 0, "scaleDownAfterSeconds": 60}, agentName="a"))
    assert s.warm_pool == WarmPoolSettings(2, 5, 0, 60.0) and s.agent_name == "a"
    assert WorkspacePodSettings.from_json(settings()).warm_pool is None
    for bad, message in [({"min": 3, "max": 2}, "0 <= min <= max"), ({"max": 2}, "integer min and max"),
                         ({"min": 0, "max": 1, "headroom": -1}, "headroom >= 0"), ([1], "must be an object")]:
        with pytest.raises(SettingsError, match=message):
            WorkspacePodSettings.from_json(settings(warmPool=bad))


def test_the_claim_carries_upstreams_labels_the_owners_and_last_used() -> None:
    s = WorkspacePodSettings.from_json(settings(storage={"kind": "persistentVolumeClaim", "size": "20Gi", "storageClassName": "fast"}, agentName="helper"))
    pvc = workspace_pvc("as-ws-x", "x", s, owner_labels(s, "carol"), datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc))
    assert pvc["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}, "storageClassName": "fast"}
    meta = pvc["metadata"]
    assert meta["annotations"] == {"agentscope.io/last-used": "2026-12-07T12:00:00Z"}
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "agentscope" and meta["labels"]["agentscope.workspace.id"] == "x"
    assert meta["labels"]["agentscope.io/agent"] == "helper" and meta["labels"]["agentscope.io/user-hash"] == user_hash("carol")
    assert len(user_hash("carol")) == 32


def test_extra_pod_labels_cannot_replace_upstreams() -> None:
    s = WorkspacePodSettings.from_json(settings())
    pod = workspace_pod("as-ws-y", "y", s, {"agentscope.workspace.id": "other", "agentscope.io/workspace-pool": "warm"})
    assert pod["metadata"]["labels"]["agentscope.workspace.id"] == "y"
    assert pod["metadata"]["labels"]["agentscope.io/workspace-pool"] == "warm"
