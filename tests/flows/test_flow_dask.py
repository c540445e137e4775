"""Scale-out: the campaign's generation tasks mapped over a two-worker Dask LocalCluster."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest

from flows.campaign import campaign
from flows.campaign_config import build_config


@pytest.mark.slow
def test_flow_generation_maps_over_two_dask_workers(prefect_api, toy, check_coco):
    values = {**toy, "name": "dask", "count": 8, "batch_size": 2, "evaluate": False,
              "runner": "dask", "dask": {"n_workers": 2}}  # fmt: skip
    summary = campaign(config=build_config(values))

    assert summary["generated"] == 8
    check_coco(Path(summary["coco"]), summary["images_in_coco"])
    # the four batches ran in two worker processes, none in this one
    assert len(summary["workers"]) == 2
    assert not any(worker.endswith(f":{os.getpid()}") for worker in summary["workers"])
    # each worker loaded the generator once, however many batches it got
    loads = defaultdict(int)
    for batch in summary["batches"]:
        loads[batch["worker"]] = max(loads[batch["worker"]], batch["model_loads"])
    assert set(loads.values()) == {1}
