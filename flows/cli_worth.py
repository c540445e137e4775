"""`defectforge worth`: what each arm's gain is worth in real labelled images (eval/worth.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add `worth` to the root app."""

    @app.command("worth")
    def worth(
        evaluation: Annotated[Path, typer.Argument(help="evaluation folder (an `evaluate --out`) whose arms to convert")],
        real_only: Annotated[list[Path], typer.Option("--real-only", help="real-only evaluation at another k, same profile and settings (repeat)")],
    ) -> None:
        """Convert each arm's score into the real images it is worth, from real-only runs at other k
        (writes report/worth.md and worth.json, and logs them to the evaluation's MLflow run)."""
        from rich.console import Console
        from rich.markdown import Markdown

        from eval import tracking
        from eval.worth import load_report, real_curve, worth_markdown, worth_of_arms
        from pipeline.data.atomic import write_bytes, write_json

        base = load_report(evaluation)
        reports = {str(evaluation): base, **{str(p): load_report(p) for p in real_only}}
        curve = real_curve(reports)
        arms = worth_of_arms(base, curve)
        text = worth_markdown(base, curve, arms)
        folder = Path(base.report_dir)
        markdown = write_bytes(folder / "worth.md", text.encode())
        write_json(folder / "worth.json", {"curve": [p.model_dump() for p in curve],
                                           "arms": [w.model_dump() for w in arms]})
        tracking.log_to_run(base.tracking_uri, base.parent_run_id,
                            {f"{w.arm}/worth_real_images": w.extra_images for w in arms
                             if w.extra_images is not None},
                            {"report": markdown})
        Console(soft_wrap=True).print(Markdown(text))
        Console(soft_wrap=True).print(f"written: {markdown}")
