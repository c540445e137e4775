"""`defectforge evaluate`: retrain the detector per arm and seed, report mAP deltas in MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conditioning.errors import DefectforgeError


def _ints(option: str, text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise DefectforgeError(f"{option}: expected comma-separated integers, got {text!r}") from None


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [p.strip() for p in text.split(",") if p.strip()]


def register(app: typer.Typer) -> None:
    """Add `evaluate` to the root app."""

    @app.command("evaluate")
    def evaluate(
        dataset: Annotated[str, typer.Option("--dataset", help="prepared dataset name or folder")],
        profile: Annotated[str, typer.Option("--profile", help="dev (screening, 2-core CPU), quick (2-core CPU) or full (GPU)")] = "quick",
        real_budget: Annotated[int | None, typer.Option("--real-budget", help="k real training images")] = None,
        arms: Annotated[str | None, typer.Option("--arms", help="comma list of real,augment,copypaste,procedural,diffusion")] = None,
        seeds: Annotated[str | None, typer.Option("--seeds", help="comma list, e.g. 0,1,2")] = None,
        ratio: Annotated[float | None, typer.Option("--ratio", help="synthetic images per real image")] = None,
        generated: Annotated[Path | None, typer.Option("--generated", help="generated set (diffusion arm); a {seed} in the path gives each training seed its own set")] = None,
        generator_model: Annotated[Path | None, typer.Option("--generator-model", help="model dir: generate the diffusion set now")] = None,
        budget: Annotated[Path | None, typer.Option("--budget", help="budget JSON (default: drawn from the train split)")] = None,
        spec: Annotated[Path | None, typer.Option("--spec", help="defect spec for the procedural arm")] = None,
        model: Annotated[str | None, typer.Option("--model", help="ultralytics model .yaml (e.g. yolov8n-p2.yaml)")] = None,
        epochs: Annotated[int | None, typer.Option("--epochs", help="training epochs (of the real-only arm with --schedule steps)")] = None,
        schedule: Annotated[str | None, typer.Option("--schedule", help="steps (mixed, real-only's optimizer steps), epochs (every arm --epochs), oversample (real repeated to half the mix) or synthetic-first (pre-train on synthetic, fine-tune on real)")] = None,
        imgsz: Annotated[int | None, typer.Option("--imgsz", help="training image (or tile) size")] = None,
        val_imgsz: Annotated[int | None, typer.Option("--val-imgsz", help="test image size")] = None,
        batch: Annotated[int | None, typer.Option("--batch", help="batch size")] = None,
        scale: Annotated[float | None, typer.Option("--scale", help="random resize by ±scale while training (ultralytics' default 0.5; the demo trains at 0.25)")] = None,
        flipud: Annotated[float | None, typer.Option("--flipud", help="probability of flipping a training image upside down (default 0; the demo flips at 0.25)")] = None,
        device: Annotated[str | None, typer.Option("--device", help="'cpu', '0', ... (default: auto)")] = None,
        tile: Annotated[int | None, typer.Option("--tile", help="train on tiles of this size (0: off)")] = None,
        test_limit: Annotated[int | None, typer.Option("--test-limit", help="first N test images (0: all)")] = None,
        score_on: Annotated[str | None, typer.Option("--score-on", help="test: the real test split; val: training images outside the budget (to choose settings)")] = None,
        onto: Annotated[str | None, typer.Option("--onto", help="where copypaste, procedural (and a diffusion set generated here) draw: clean (the clean references) or defective (the real defect images, their labels kept)")] = None,
        transform_synthetic: Annotated[bool, typer.Option("--transform-synthetic", help="pass the copypaste, procedural and diffusion sets through the augment arm's transform (flips, rotations, affine, brightness, noise, blur), seeded per training seed")] = False,
        jobs: Annotated[int | None, typer.Option("--jobs", help="detectors trained at once, one process each (results do not depend on it); with 2 or more, the real arm trains while the sets are drawn")] = None,
        out: Annotated[Path | None, typer.Option("--out", help="output folder (default runs/eval/...)")] = None,
        experiment: Annotated[str | None, typer.Option("--experiment", help="MLflow experiment")] = None,
        strict: Annotated[bool, typer.Option("--strict", help="refuse an arm whose synthetic labels are out of the parity tolerances (default: warn)")] = False,
        print_config: Annotated[bool, typer.Option("--print-config", help="print the resolved settings and exit")] = False,
    ) -> None:
        """Compare detector arms at the same real budget on the real test split, or on validation images with --score-on val (MLflow report)."""
        import yaml

        from eval.config import resolve_config

        config = resolve_config(
            dataset, profile, real_budget=real_budget, arms=_names(arms),
            seeds=_ints("--seeds", seeds), ratio=ratio, generated=generated,
            generator_model=generator_model, budget_path=budget, spec_path=spec, epochs=epochs,
            model=model, schedule=schedule,
            imgsz=imgsz, val_imgsz=val_imgsz, batch=batch, scale=scale, flipud=flipud, device=device,
            tile=tile, test_limit=test_limit, score_on=score_on, onto=onto, out_dir=out, jobs=jobs,
            transform_synthetic=transform_synthetic or None,
            experiment=experiment, strict=strict or None,
        )
        if str(config.detector.model).endswith(".pt"):
            from eval.detector import check_detector_weights

            check_detector_weights(Path(config.detector.model))
        if print_config:
            typer.echo(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
            return
        from eval.protocol import run_evaluation

        run_evaluation(config)
