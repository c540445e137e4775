"""`defectforge train`, `defectforge generate`, `defectforge realism`: the generator's commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("train")(train_command)
    app.command("generate")(generate_command)
    app.command("realism")(realism_command)


def _read_config(path: Path | None) -> dict:
    if path is None:
        return {}
    import yaml

    from conditioning.errors import DefectforgeError

    if not path.is_file():
        raise DefectforgeError(f"{path}: config file not found (--config)")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise DefectforgeError(f"{path}: expected a mapping of TrainConfig fields, got {type(data).__name__}")
    return data


def train_command(
    dataset: Annotated[str, typer.Option(help="prepared dataset name (runs/data/NAME)")],
    backend: Annotated[str, typer.Option(help="compact | sd15")] = "compact",
    k: Annotated[int | None, typer.Option("--k", help="real training images (a budget is chosen and saved)")] = None,
    budget: Annotated[Path | None, typer.Option(help="budget manifest (from `defectforge data budget`)")] = None,
    out: Annotated[Path | None, typer.Option(help="model folder (default runs/models/DATASET-BACKEND[-kK])")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML of TrainConfig fields (model: backend config)")] = None,
    base_steps: Annotated[int | None, typer.Option(help="stage-1 steps")] = None,
    control_steps: Annotated[int | None, typer.Option(help="stage-2 steps")] = None,
    batch_size: Annotated[int | None, typer.Option(help="crops per step")] = None,
    seed: Annotated[int, typer.Option(help="budget and training seed")] = 0,
    mlflow: Annotated[bool, typer.Option("--mlflow", help="log losses to MLflow (accelerate tracker)")] = False,
    show_config: Annotated[bool, typer.Option("--show-config", help="print every default and exit")] = False,
) -> None:
    """Train a generator: stage 1 base on clean parts, stage 2 control adapter on defects (resumable)."""
    from pipeline.train import TrainConfig, train_generator

    if show_config:
        _print_defaults(backend)
        return
    budget = _budget(dataset, k, seed) if budget is None and k is not None else budget
    overrides = {"base_steps": base_steps, "control_steps": control_steps, "batch_size": batch_size}
    raw = {**_read_config(config), "seed": seed, **{k_: v for k_, v in overrides.items() if v is not None}}
    if mlflow:
        raw["log_with"] = "mlflow"
    cfg = TrainConfig(**{**raw, "backend": backend})
    suffix = f"-k{k}" if k is not None else ""
    out = out or _runs() / "models" / f"{dataset}-{backend}{suffix}"
    path = train_generator(dataset, budget, out, backend=backend, config=cfg)
    card = json.loads((path / "model_card.json").read_text())
    console.print(f"model {path} (revision {card['revision']}), seconds {card['seconds']}")


def _print_defaults(backend: str) -> None:
    from pipeline.train import TrainConfig

    model_cls = _model_config_class(backend)
    for cls in (TrainConfig, model_cls):
        console.print(f"[bold]{cls.__name__}[/]")
        for name, field in cls.model_fields.items():
            console.print(f"  {name} = {field.get_default(call_default_factory=True)!r}  # {field.description}")


def _model_config_class(backend: str):
    if backend == "sd15":
        from pipeline.models.sd15 import SD15Config

        return SD15Config
    from pipeline.models.compact import CompactConfig

    return CompactConfig


def _budget(dataset: str, k: int, seed: int) -> Path:
    from pipeline.data.budget import budget_path, choose_real_budget, save_budget
    from pipeline.data.prepared import PreparedDataset

    path = budget_path(dataset, k, seed)
    if not path.is_file():
        save_budget(choose_real_budget(PreparedDataset(dataset).coco_path("train"), k, seed), path)
    return path


def _runs() -> Path:
    from pipeline.paths import runs_root

    return runs_root()


def generate_command(
    dataset: Annotated[str, typer.Option(help="prepared dataset (its clean references are the backgrounds)")],
    count: Annotated[int, typer.Option(help="number of images")],
    out: Annotated[Path, typer.Option(help="output folder (images/, annotations.json, summary.json)")],
    spec: Annotated[Path | None, typer.Option(help="defect-spec YAML (default datasets/DATASET/defects.yaml)")] = None,
    model: Annotated[Path | None, typer.Option(help="trained model folder (default: the only runs/models/DATASET-*)")] = None,
    seed: Annotated[int, typer.Option(help="run seed: same seed, spec, backgrounds, model = same images")] = 0,
    batch_size: Annotated[int, typer.Option(help="crops per model call and samples per step")] = 16,
    budget: Annotated[Path | None, typer.Option(help="budget manifest: draw backgrounds from its images only")] = None,
    pool_neighbours: Annotated[int, typer.Option(help="budget drawn --defects-only: per budget image, the defect-free "
                                                 "images most like it used as backgrounds (0: all)")] = 4,
    steps: Annotated[int | None, typer.Option(help="sampling steps (default: the model's)")] = None,
    retries: Annotated[int, typer.Option(help="regenerations of a gate-rejected instance")] = 3,
    full_resolution: Annotated[bool, typer.Option(
        "--full-resolution/--fixed-resolution", help="draw each defect at its own scale among the model's crop "
        "sizes, or every defect at the model's base resolution, resized (faster, blurred on large defects)")] = True,
    keep_rejected: Annotated[bool, typer.Option("--keep-rejected", help="also list rejected images in the COCO")] = False,
    onto: Annotated[str, typer.Option(help="clean: clean references and defect-free images; defective: the real "
                                      "defect images, new defects away from their own (labels kept)")] = "clean",
    workers: Annotated[int, typer.Option(min=1, help="processes drawing the set side by side, each loading the "
                                         "model once (the same images as one process; on a GPU machine about "
                                         "one per CPU core)")] = 1,
) -> None:
    """Generate labelled defect images on clean parts (resumable), gate them, write COCO + summary."""
    from pipeline.data.registry import spec_path
    from pipeline.generate import generate_set

    spec = spec or spec_path(dataset)
    model = model or _default_model(dataset)
    config = {"batch_size": batch_size, "steps": steps, "gate": {"retries": retries}, "pool_neighbours": pool_neighbours,
              "full_resolution": full_resolution, "onto": onto}
    if workers > 1:
        from pipeline.generate_parallel import generate_set_in_processes

        summary = generate_set_in_processes(dataset, spec, model, count, out, workers=workers, seed=seed,
                                            budget_path=budget, config=config, keep_rejected=keep_rejected)
    else:
        summary = generate_set(dataset, spec, model, count, out, seed=seed, budget_path=budget,
                               config=config, keep_rejected=keep_rejected)
    console.print(
        f"{out}: {summary.count} samples ({summary.generated_now} new, {summary.skipped} skipped), "
        f"gate pass rate {summary.image_pass_rate:.1%} images / {summary.instance_pass_rate:.1%} instances, "
        f"{summary.images_per_second:.2f} images/s"
    )


def _default_model(dataset: str) -> Path:
    """The one trained model of this dataset under runs/models (else an error listing them)."""
    from conditioning.errors import DefectforgeError

    found = sorted(p.parent for p in (_runs() / "models").glob(f"{dataset}-*/model_card.json"))
    if len(found) == 1:
        return found[0]
    listed = ", ".join(str(p) for p in found) or "none"
    raise DefectforgeError(
        f"--model: {len(found)} trained models of {dataset!r} under {_runs() / 'models'} ({listed}); "
        f"pass --model DIR, or train one with `defectforge train --dataset {dataset}`."
    )


def realism_command(
    real: Annotated[Path, typer.Option(help="COCO file of real defects (e.g. runs/data/NAME/annotations/test.json)")],
    generated: Annotated[list[Path], typer.Option(help="COCO file of generated defects; repeat the option to pool several sets (crops drawn from all: one set's draw moves the score by a few points)")],
    size: Annotated[int, typer.Option(help="side the tight box crops are resized to")] = 32,
    max_crops: Annotated[int, typer.Option(help="crops drawn a side (from all its files)")] = 2000,
    epochs: Annotated[int, typer.Option(help="classifier epochs")] = 30,
    seed: Annotated[int, typer.Option()] = 0,
    repeats: Annotated[int, typer.Option(help="classifier runs with seeds seed..seed+repeats-1 on the same crops (mean; interval at one run's n)")] = 3,
    inception_weights: Annotated[Path | None, typer.Option(help="local Inception weights file for FID/KID")] = None,
    out: Annotated[Path | None, typer.Option(help="also write the report as JSON here")] = None,
    sheet: Annotated[Path | None, typer.Option(help="also write a contact sheet PNG (per class: real row, generated row)")] = None,
) -> None:
    """Classifier two-sample test on tight defect crops (0.5 = indistinguishable), FID/KID if configured."""
    from eval.realism import contact_sheet, realism_report

    if sheet is not None:
        console.print(f"contact sheet {contact_sheet(real, generated, sheet)}")

    report = realism_report(real, generated, size=size, max_crops=max_crops, epochs=epochs, seed=seed,
                            repeats=repeats, inception_weights=inception_weights)
    test = report["classifier_two_sample"]
    each = ", ".join(f"{r['accuracy']:.3f}" for r in report["runs"])
    console.print(
        f"classifier two-sample accuracy {test['accuracy']:.3f}, mean of {len(report['runs'])} seeds ({each}); "
        f"95% CI {test['ci_low']:.3f}-{test['ci_high']:.3f} (Wilson at {test['n_test']} held-apart crops, "
        "the repeats reuse them; widened to cover every seed)"
    )
    for name, one in report["per_class"].items():
        console.print(f"  {name}: {one['accuracy']:.3f} (95% CI {one['ci_low']:.3f}-{one['ci_high']:.3f}, "
                      f"{one['n_test']} held-apart crops)")
    console.print(report.get("skipped") or f"FID {report['fid']:.2f}, KID {report['kid_mean']:.4f}")
    if out is not None:
        from pipeline.data.atomic import write_json

        write_json(out, report)
