"""`defectforge rescore`: an evaluation's trained detectors scored on another split (eval/rescore.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conditioning.errors import DefectforgeError


def register(app: typer.Typer) -> None:
    """Add `rescore` to the root app."""

    @app.command("rescore")
    def rescore_command(
        evaluation: Annotated[Path, typer.Argument(help="evaluation folder (an `evaluate --out`) whose trained detectors to score")],
        on: Annotated[str, typer.Option("--on", help="val: training images outside the budget (to choose settings); test: the real test split")] = "val",
    ) -> None:
        """Score an evaluation's trained detectors on validation images (or the test split) without training them again; compares the arms as the report does (writes rescore/<split>.json)."""
        from rich.console import Console
        from rich.table import Table

        from eval.report import fmt_interval
        from eval.rescore import RESCORE_DIR, log_rescore, rescore

        if on not in ("val", "test"):
            raise DefectforgeError(f"--on: expected val or test, got {on!r}")
        console = Console(soft_wrap=True)
        with console.status("scoring") as status:
            result = rescore(evaluation, on, progress=lambda run: status.update(f"scoring {run}"))
        where = "validation images" if on == "val" else "test images"
        table = Table(title=f"{evaluation}: COCOeval mAP50-95 on {result.images} {where}")
        for column in ("arm", "seeds", "per seed", "mean [95 % CI]", "Δ vs reference [95 % CI]",
                       "reference"):
            table.add_column(column)
        per_seed = {}
        for run in result.runs:
            per_seed.setdefault(run.arm, []).append(f"{run.coco.map50_95:.3f}")
        for arm in result.arms:
            table.add_row(arm.arm, ",".join(map(str, arm.seeds)), " / ".join(per_seed[arm.arm]),
                          fmt_interval(arm.map50_95),
                          fmt_interval(arm.delta, "+") if arm.delta else "—", arm.reference or "—")
        console.print(table)
        console.print(f"written: {evaluation.resolve() / RESCORE_DIR / (on + '.json')}")
        run = log_rescore(evaluation.resolve(), result)
        console.print(f"logged to the evaluation's MLflow run {run} (rescore_{on}/...)" if run else
                      "not logged to MLflow: the evaluation has no report yet (run `evaluate` to write it)")
