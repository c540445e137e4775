"""The table printed after a campaign: gate pass rate, mAP per arm with interval and delta, paths."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from eval.report import SCORED_IMAGES, SCORED_ON


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
    """One column per arm and real-only control (narrow terminals fit 2-3 arms): the primary
    figure, COCOeval mAP50-95, with the 95 % CI over seeds and the seed-paired delta against the
    stronger real-only run (`ref` names it), its 95 % bootstrap interval over the test images
    (draws paired across arms), COCOeval's mAP50 and ultralytics' mAP50 for reference."""
    arms = evaluation.get("arms", [])
    epochs: dict[str, set] = {}
    for run in evaluation.get("runs", []):
        epochs.setdefault(run["arm"], set()).add(run.get("epochs"))
    score_on = (evaluation.get("config") or {}).get("score_on", "test")
    table = Table(title=f"Detector arms on {SCORED_ON[score_on]}", caption=(
        f"CI: 95 % over training seeds; boot: 95 % bootstrap over the {SCORED_IMAGES[score_on]} "
        "(seed spread not in it)"))
    table.add_column("", no_wrap=True, min_width=len("ultralytics mAP50 [CI]"))
    for arm in arms:
        table.add_column(arm["arm"], justify="right")

    def row(label: str, cell) -> None:
        table.add_row(escape(label), *[cell(arm) for arm in arms])

    def delta(source: str, key: str):
        return lambda a: "-" if not a.get("reference") else _delta((a.get(source) or {}).get(key))

    row("seeds", lambda a: str(len(a["seeds"])))
    row("synthetic images", lambda a: str(a["synthetic_images"]))
    row("epochs", lambda a: "/".join(str(e) for e in sorted(epochs.get(a["arm"], set()) - {None}))
        or "-")
    row("COCO mAP50-95 [boot]",
        lambda a: _interval((a.get("over_test") or {}).get("coco_map50_95")))
    row("ref", lambda a: a.get("reference") or "-")
    row("Δ vs ref [CI]", delta("delta", "coco_map50_95"))
    row("Δ vs ref [boot]", delta("over_test", "delta_coco_map50_95"))
    row("COCO mAP50 [CI]", lambda a: _interval(a["metrics"].get("coco_map50")))
    row("ultralytics mAP50 [CI]", lambda a: _interval(a["metrics"].get("map50")))
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
