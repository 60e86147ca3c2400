"""The fast suite (scripts/test-python.sh, inside `npm test`) must run on a machine without podman:
every test file that builds or runs images is listed in image-suites.txt, which test-image.sh runs
and test-python.sh leaves out. A file missed there failed `npm test` on a fresh machine."""
from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# Imports of the podman helpers (images.py) or of another image suite's checks.
USES_IMAGES = re.compile(r"^\s*(from|import)\s+(images|test_image|test_user_agent_image|test_workspace_image)\b", re.M)


def listed() -> list[str]:
    lines = (HERE / "image-suites.txt").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_every_file_that_uses_podman_is_an_image_suite() -> None:
    using = sorted(
        str(p.relative_to(REPO)) for p in HERE.glob("test_*.py") if USES_IMAGES.search(p.read_text())
    )
    assert using, "the pattern found no image suite at all: it no longer matches how they import"
    assert sorted(set(using) - set(listed())) == []


def test_every_listed_suite_exists() -> None:
    assert [s for s in listed() if not (REPO / s).is_file()] == []


def test_the_scripts_read_the_list() -> None:
    for script in ("scripts/test-python.sh", "scripts/test-image.sh"):
        assert "test/python/image-suites.txt" in (REPO / script).read_text(), script
