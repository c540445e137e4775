"""The trend across scheduled campaigns: one MLflow run per campaign (`<name> trend`, tagged
`defectforge.trend`) gets one point per campaign run on each key metric, at step = that
campaign's sequence number, so the key metrics draw as lines over the nightly runs (the trend
run's Model metrics tab, or a line chart in the experiment's Chart view)."""

from __future__ import annotations

import time
from typing import Any

from eval import tracking

TREND_TAG = "defectforge.trend"
COUNTER = "key/campaign"
"""Metric whose value is the campaign's sequence number (1, 2, ...): the step of its point."""


def key_points(report: dict[str, Any] | None, gate_pass_rate: float | None,
               realism_accuracy: float | None) -> dict[str, float]:
    """One campaign's key metrics: Δ mAP50-95 vs real-only of the best synthetic arm and
    real-only's mAP50-95 (from its EvalReport, when it evaluated), the generated set's gate
    pass rate and the realism classifier's accuracy (0.5 = indistinguishable from real)."""
    from eval.report import EvalReport
    from eval.run_page import key_metrics

    points = key_metrics(EvalReport.model_validate(report)) if report else {}
    points.pop("key/gate_pass_rate", None)  # the campaign's own set, below
    if gate_pass_rate is not None:
        points["key/gate_pass_rate"] = gate_pass_rate
    if realism_accuracy is not None:
        points["key/realism_accuracy"] = realism_accuracy
    return points


def log_point(experiment: str, campaign: str, points: dict[str, float],
              evaluation_run: str | None) -> int:
    """Append one campaign's points to the campaign's trend run; returns its step."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    run_id = tracking.tagged_run(experiment, TREND_TAG, campaign, f"{campaign} trend")
    client = MlflowClient(tracking.tracking_uri())
    step = len(client.get_metric_history(run_id, COUNTER)) + 1
    now = int(time.time() * 1000)
    metrics = [Metric(name, float(value), now, step)
               for name, value in {**points, COUNTER: step}.items()]
    client.log_batch(run_id, metrics=metrics)
    if evaluation_run:
        client.set_tag(run_id, f"campaign.{step}.evaluation_run", evaluation_run)
    return step
