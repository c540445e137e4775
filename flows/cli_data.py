"""`defectforge data ...`: list, prepare, check, budget, export-yolo and preview datasets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

data_app = typer.Typer(
    help="Datasets: prepare sources, check COCO files, choose budgets, export YOLO.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)


@data_app.command("list")
def list_command() -> None:
    """List the datasets under datasets/ and whether they are prepared."""
    from pipeline.data.prepared import prepared_root
    from pipeline.data.registry import list_datasets, load_dataset_info

    for name in list_datasets():
        info = load_dataset_info(name)
        prepared = (prepared_root(name) / "manifest.json").is_file()
        console.print(
            f"{name:12s} format={info.format:8s} classes={info.class_names} "
            f"prepared={'yes' if prepared else 'no'}"
        )


@data_app.command("prepare")
def prepare_command(
    name: Annotated[str, typer.Argument(help="dataset name (a folder under datasets/)")],
    source: Annotated[
        Path | None, typer.Option(help="raw data folder (default: dataset.yaml source.path)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="rebuild even if already prepared")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="worker processes (default: CPU count)")
    ] = None,
) -> None:
    """Convert a source into runs/data/NAME (images, clean references, COCO per split)."""
    import json

    from pipeline.data.prepare import prepare_dataset

    start = time.perf_counter()
    root = prepare_dataset(name, source, force=force, workers=workers)
    manifest = json.loads((root / "manifest.json").read_text())
    for split, summary in manifest["splits"].items():
        console.print(
            f"{split}: {summary['images']} images, {summary['instances']} instances "
            f"{summary['instances_per_class']}, masks {summary['mask_source']}"
        )
    console.print(f"prepared {root} in {time.perf_counter() - start:.1f} s")


@data_app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="COCO JSON file")],
    images_root: Annotated[
        Path | None, typer.Option(help="folder file_names are relative to")
    ] = None,
) -> None:
    """Validate a COCO file (pycocotools load, ids, areas, box/mask agreement); exit 2 on problems."""
    from pipeline.data.coco_check import check_coco

    report = check_coco(file, images_root=images_root)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if not report.ok:
        err = Console(stderr=True, soft_wrap=True)
        for problem in report.problems:
            err.print(f"[red]problem:[/] {escape(problem)}", highlight=False)
        err.print(f"{file}: {len(report.problems)} problem(s)", markup=False, highlight=False)
        raise typer.Exit(2)
    console.print(
        f"{file}: ok ({report.images} images, {report.annotations} annotations, "
        f"{report.categories} categories)",
        markup=False,
        highlight=False,
    )


@data_app.command("budget")
def budget_command(
    name: Annotated[str, typer.Argument(help="prepared dataset name")],
    k: Annotated[int, typer.Option("--k", help="number of real training images")],
    seed: Annotated[int, typer.Option("--seed")] = 0,
    split: Annotated[str, typer.Option(help="split to choose from")] = "train",
) -> None:
    """Choose k training images (seeded, stratified by class) and save the manifest."""
    from pipeline.data.budget import budget_path, choose_real_budget, save_budget
    from pipeline.data.prepared import PreparedDataset

    prepared = PreparedDataset(name)
    budget = choose_real_budget(prepared.coco_path(split), k, seed)
    path = save_budget(budget, budget_path(name, k, seed))
    console.print(
        f"{path}: {len(budget.image_ids)} images, instances per class {budget.instances_per_class}"
    )


@data_app.command("export-yolo")
def export_yolo_command(
    name: Annotated[str, typer.Argument(help="prepared dataset name (names and val split)")],
    out: Annotated[Path, typer.Option(help="output folder")],
    extra_train: Annotated[
        list[Path] | None,
        typer.Option("--extra-train", help="more COCO files for train (synthetic)"),
    ] = None,
    budget: Annotated[
        Path | None, typer.Option(help="budget manifest: keep only its real train images")
    ] = None,
    segments: Annotated[
        bool, typer.Option("--segments", help="polygon labels instead of boxes")
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="replace a non-empty --out folder that an export did not write"
        ),
    ] = False,
) -> None:
    """Write YOLO labels + data.yaml (train = real [+ extra], val = the test split)."""
    from pipeline.data.prepared import PreparedDataset
    from pipeline.data.yolo_export import export_yolo

    prepared = PreparedDataset(name)
    train = [(prepared.coco_path("train"), prepared.root)] + [(p, None) for p in extra_train or []]
    data_yaml = export_yolo(
        train,
        out,
        prepared.info.class_names,
        val=(prepared.coco_path("test"), prepared.root),
        segments=segments,
        budget_path=budget,
        overwrite=overwrite,
    )
    console.print(f"wrote {data_yaml}")


@data_app.command("preview")
def preview_command(
    name: Annotated[str, typer.Argument(help="prepared dataset name")],
    out: Annotated[Path, typer.Option(help="PNG to write")],
    split: Annotated[str, typer.Option()] = "train",
    count: Annotated[int, typer.Option()] = 8,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Contact sheet: tested image | clean reference | masks and boxes, one row per image."""
    from pipeline.data.preview import contact_sheet

    console.print(f"wrote {contact_sheet(name, split, out, count=count, seed=seed)}")


def register(app: typer.Typer) -> None:
    """Add the `data` group to the root app."""
    app.add_typer(data_app, name="data")
