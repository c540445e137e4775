"""Flows tests: one Prefect test harness for the session, the toy campaign, a COCO check."""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path
from typing import Any

import pytest

TOY: dict[str, Any] = {
    "dataset": "sample",
    "real_budget": 8,
    "train": {"base_steps": 2, "control_steps": 2, "clean_crops": 32, "batch_size": 4},
    "render": {"steps": 2, "gate": {"retries": 0, "min_contrast": 0.0, "max_spill": 100.0,
                                    "max_box_excess": 1.0}},
    "count": 6,
    "batch_size": 3,
    "arms": ["real", "diffusion"],
    "eval_seeds": [0],
    "epochs": 1,
    "imgsz": 64,
    "eval_options": {"val_imgsz": 64, "ratio": 0.5, "test_limit": 6, "batch": 4,
                     "workers": 0, "device": "cpu"},
}  # fmt: skip
"""Toy sizes: two generator steps per stage, six images, one detector epoch at 64 px; the gate is
relaxed so that an untrained generator's samples reach the detector (the wiring is under test)."""


@pytest.fixture(scope="session")
def prefect_api():
    """Start Prefect's test harness once; yields its API URL (subprocess campaigns use it too)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@pytest.fixture
def toy() -> dict[str, Any]:
    """A fresh copy of the toy campaign values (tests add a name and overrides)."""
    return copy.deepcopy(TOY)


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_generated_coco(coco_path: Path, count: int) -> dict[str, Any]:
    """pycocotools loads it; exactly `count` unique, readable images; no temp files left."""
    from PIL import Image
    from pycocotools.coco import COCO

    coco = COCO(str(coco_path))
    images = coco.loadImgs(coco.getImgIds())
    names = [image["file_name"] for image in images]
    assert len(images) == count
    assert len(set(names)) == count
    assert len({image["id"] for image in images}) == count
    for name in names:
        with Image.open(coco_path.parent / name) as picture:
            picture.load()
    leftovers = [p for p in coco_path.parent.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
    return json.loads(coco_path.read_text())


@pytest.fixture
def check_coco():
    """The COCO check above, as a fixture (tests are not a package)."""
    return check_generated_coco
