"""Opt-in: prepare the real DeepPCB checkout when present and check the exact official counts."""

from pathlib import Path

import pytest

from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset
from pipeline.paths import PROJECT_ROOT

CANDIDATES = [
    PROJECT_ROOT.parent / "shared" / "datasets" / "deeppcb",
    Path("/work/shared/datasets/deeppcb"),
]
SOURCE = next((p for p in CANDIDATES if (p / "PCBData" / "trainval.txt").is_file()), None)


@pytest.mark.deeppcb
@pytest.mark.slow
@pytest.mark.skipif(
    SOURCE is None, reason="DeepPCB checkout not found at ../shared/datasets/deeppcb"
)
def test_prepare_real_deeppcb_counts(runs):
    prepare_dataset("deeppcb", SOURCE, progress=False)
    splits = PreparedDataset("deeppcb").manifest["splits"]
    assert (splits["train"]["images"], splits["train"]["instances"]) == (1000, 6873)
    assert (splits["test"]["images"], splits["test"]["instances"]) == (500, 3140)
    assert (
        splits["train"]["mask_source"].get("box_ellipse", 0)
        + splits["test"]["mask_source"].get("box_ellipse", 0)
        < 10
    )
