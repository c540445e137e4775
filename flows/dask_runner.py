"""Scale-out: the Prefect task runner for a campaign (threads locally, or a Dask cluster)."""

from __future__ import annotations

import os
from typing import Any

from flows.campaign_config import CampaignConfig, DaskConfig


def dask_task_runner(config: DaskConfig) -> Any:
    """A prefect-dask `DaskTaskRunner`: an existing scheduler, or a LocalCluster without dashboard."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:  # optional integration: say what to install
        from conditioning.errors import DefectforgeError

        raise DefectforgeError(
            "runner: dask needs prefect-dask and distributed: pip install prefect-dask"
        ) from error
    if config.address:
        return DaskTaskRunner(address=config.address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": config.n_workers,
            "threads_per_worker": config.threads_per_worker,
            "processes": True,
            "dashboard_address": None,
            # DASK_TEMPORARY_DIRECTORY is set by pipeline.offline (runs/state/dask)
            "local_directory": os.environ.get("DASK_TEMPORARY_DIRECTORY"),
        },
    )


def task_runner_for(config: CampaignConfig) -> Any:
    """The runner named by `config.runner`: Prefect's thread pool (one worker), or Dask."""
    if config.runner == "dask":
        return dask_task_runner(config.dask)
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=1)
