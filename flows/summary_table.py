"""The table printed after a campaign: gate pass rate, mAP per arm with interval and delta, paths."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.table import Table


def _interval(value: dict[str, Any] | None) -> str:
    if not value:
        return "-"
    if value["n"] == 1 or value["low"] == value["high"]:
        return f"{value['mean']:.3f}"
    return f"{value['mean']:.3f} [{value['low']:.3f}, {value['high']:.3f}]"


def _delta(value: dict[str, Any] | None) -> str:
    if not value:
        return "-"
    sign = "+" if value["mean"] >= 0 else ""
    if value["n"] == 1 or value["low"] == value["high"]:
        return f"{sign}{value['mean']:.3f}"
    return f"{sign}{value['mean']:.3f} [{value['low']:+.3f}, {value['high']:+.3f}]"


def arm_table(evaluation: dict[str, Any]) -> Table:
    """One row per arm: ultralytics mAP50 / mAP50-95 (95 % CI over seeds when seeds > 1) with
    the seed-paired delta vs real-only, and pycocotools mAP50 with its 95 % bootstrap interval
    over the test images (draws paired across arms, so it gives an interval with one seed too)."""
    table = Table(title="Detector arms on the real test split")
    columns = ("arm", "seeds", "synthetic", "epochs", "mAP50", "Δ mAP50", "mAP50-95",
               "Δ mAP50-95", "COCO mAP50 [test bootstrap]", "Δ COCO mAP50 [paired]")
    for column in columns:
        table.add_column(column, justify="left" if column == "arm" else "right")
    epochs = {}
    for run in evaluation.get("runs", []):
        epochs.setdefault(run["arm"], set()).add(run.get("epochs"))
    for arm in evaluation.get("arms", []):
        metrics, delta, test = arm["metrics"], arm["delta"], arm.get("over_test") or {}
        reference = arm["arm"] == "real"
        table.add_row(
            arm["arm"],
            str(len(arm["seeds"])),
            str(arm["synthetic_images"]),
            "/".join(str(e) for e in sorted(epochs.get(arm["arm"], set()) - {None})) or "-",
            _interval(metrics.get("map50")),
            "ref" if reference else _delta(delta.get("map50")),
            _interval(metrics.get("map50_95")),
            "ref" if reference else _delta(delta.get("map50_95")),
            _interval(test.get("coco_map50")),
            "ref" if reference else _delta(test.get("delta_coco_map50")),
        )
    table.caption = ("mAP: ultralytics, [95 % CI over seeds]; COCO: pycocotools, [95 % bootstrap "
                     "over test images; training-seed spread not in it]")
    return table


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print the campaign summary (the `summary.json` the flow writes)."""
    console = console or Console()
    evaluation = summary.get("evaluation") or {}
    console.print(f"\n[bold]Campaign {summary['campaign']}[/] -> {summary['out_dir']}")
    console.print(
        f"generated {summary['generated']} images, gate pass rate "
        f"[bold]{summary['gate_pass_rate']:.0%}[/] of images "
        f"({summary['instance_pass_rate']:.0%} of defects); {summary['images_in_coco']} in the COCO file"
    )
    if evaluation:
        console.print(arm_table(evaluation))
        for arm in summary.get("skipped_arms", []):
            console.print(f"[yellow]arm {arm} skipped: no generated image passed the gate[/]")
    else:
        console.print("detector arms: not run (evaluate: false)")
    paths = Table(show_header=False, box=None)
    paths.add_row("images", summary["images"])
    paths.add_row("COCO", summary["coco"])
    paths.add_row("YOLO", summary["yolo"])
    if evaluation.get("report_dir"):
        paths.add_row("report", evaluation["report_dir"])
    if evaluation.get("best_arm"):
        paths.add_row("best arm", evaluation["best_arm"])
    console.print(paths)
    uri = evaluation.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI", "")
    command = f"mlflow ui --backend-store-uri {uri}" if uri.startswith("sqlite") else "mlflow ui"
    if uri.startswith("http"):
        console.print(f"MLflow report: {uri} (experiment {evaluation.get('experiment_id')})")
    else:
        console.print(f"Review in MLflow: [bold]{command}[/] then open http://127.0.0.1:5000")
