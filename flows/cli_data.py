"""`defectforge data ...`: list, prepare, check, budget, export-yolo, preview and parity."""

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
    """List the product lines along the datasets search path and whether they are prepared."""
    from pipeline.data.prepared import prepared_root
    from pipeline.data.registry import list_datasets, load_dataset_info

    for name in list_datasets():
        info = load_dataset_info(name)
        prepared = (prepared_root(name) / "manifest.json").is_file()
        console.print(
            f"{name:12s} format={info.format:8s} classes={info.class_names} "
            f"prepared={'yes' if prepared else 'no'}"
        )


@data_app.command("init")
def init_command(
    name: Annotated[str, typer.Argument(help="new product line name (lower-case, digits, - and _)")],
    source: Annotated[Path, typer.Option(help="raw data folder to recognise")],
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing dataset.yaml")] = False,
) -> None:
    """Recognise a folder's layout; write dataset.yaml and a starting defects.yaml (commented)."""
    from pipeline.data.line_init import init_line

    result = init_line(name, source, force=force)
    console.print(f"recognised {source} as `{result.guess.format}` (clean_reference: {result.guess.clean_reference})")
    console.print(f"classes {result.instances} (instances in {result.measured_images} images measured)")
    console.print(f"wrote {result.dataset_yaml}")
    console.print(f"wrote {result.defects_yaml}")
    console.print(f"next: defectforge spec check {result.defects_yaml} --dataset {name}")


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
    defects_only: Annotated[
        bool, typer.Option("--defects-only", help="k among defect images; defect-free ones stay a background pool")
    ] = False,
) -> None:
    """Choose k training images (seeded, stratified by class) and save the manifest."""
    from pipeline.data.budget import budget_path, choose_real_budget, save_budget
    from pipeline.data.prepared import PreparedDataset

    prepared = PreparedDataset(name)
    budget = choose_real_budget(prepared.coco_path(split), k, seed, defects_only=defects_only)
    path = save_budget(budget, budget_path(name, k, seed, defects_only=defects_only))
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


def _tolerance_help() -> str:
    from pipeline.labels.tolerances import TOLERANCES, Tolerances

    return "; ".join(f"{name} = {getattr(TOLERANCES, name)} ({field.description})"
                     for name, field in Tolerances.model_fields.items())


@data_app.command("parity", epilog=f"Tolerances: {_tolerance_help()}.")
def parity_command(
    real: Annotated[Path, typer.Argument(help="COCO JSON of the k real training images")],
    synthetic: Annotated[Path, typer.Argument(help="COCO JSON of a synthetic set")],
    dataset: Annotated[
        str | None,
        typer.Option(help="dataset whose spec's `foreground` rule decides the surface "
                     "(default: `auto`)"),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 2 when a figure is out of tolerance")
    ] = False,
) -> None:
    """Compare a synthetic set's labels with the real ones per class (box size, margins, mask
    area and elongation, surface, visible change) and over the set (instances per image, class
    mix); print the table and every figure out of tolerance."""
    from rich.markup import escape

    from conditioning.errors import DefectforgeError
    from pipeline.labels.parity import parity_of_files

    err = Console(stderr=True, soft_wrap=True)
    try:
        polarity = _foreground_rule(dataset)
        result = parity_of_files(real, synthetic, polarity)
    except DefectforgeError as error:
        err.print(f"[red]error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from None
    console.print(_parity_table(result))
    for problem in result.problems:
        err.print(f"[yellow]out of tolerance:[/] {escape(problem)}", highlight=False)
    if result.ok:
        console.print(f"{escape(str(synthetic))}: labels within tolerance of {escape(str(real))}")
    elif strict:
        err.print(f"{escape(str(synthetic))}: {len(result.problems)} figure(s) out of tolerance")
        raise typer.Exit(2)


def _foreground_rule(dataset: str | None) -> str:
    if dataset is None:
        return "auto"
    from conditioning.spec import load_library
    from pipeline.data.registry import spec_path

    return load_library(spec_path(dataset)).foreground


def _parity_table(result):
    from rich.markup import escape
    from rich.table import Table

    from pipeline.labels.parity import cell

    table = Table(title=f"Label parity: {result.synthetic_images} synthetic against "
                  f"{result.real_images} real images (median [p5, p95])")
    for name in ("statistic", "class", "real", "synthetic", "tolerance", "ok"):
        table.add_column(name, justify="right" if name in ("real", "synthetic") else "left")
    marks = {True: "[green]yes[/]", False: "[bold red]NO[/]", None: "-"}
    for row in result.rows:
        table.add_row(escape(row.statistic), escape(row.class_name),
                      cell(row.real, row.real_range), cell(row.synthetic, row.synthetic_range),
                      escape(row.tolerance), marks[row.ok])
    return table
@data_app.command("inpaint-error")
def inpaint_error_command(
    name: Annotated[str, typer.Argument(help="prepared dataset name")],
    model: Annotated[Path | None, typer.Option(
        help="trained compact model: also measure its stage-1 base (default: the line's own under clean_reference: model)"
    )] = None,
    limit: Annotated[int, typer.Option(help="defect images whose region shapes are used")] = 100,
    seed: Annotated[int, typer.Option()] = 0,
    out: Annotated[Path | None, typer.Option(help="also write the report as JSON here")] = None,
) -> None:
    """Clean-reconstruction error of each inpainting option (OpenCV telea / ns; a model's stage-1 base)
    on real clean regions masked like defects."""
    from pipeline.inpaint_error import clean_reconstruction_error

    report = clean_reconstruction_error(name, model_dir=model, limit=limit, seed=seed)
    for method, value in report["mae"].items():
        console.print(
            f"{method:6s} mean abs error {value} grey levels (median {report['mae_median'][method]}) "
            f"over {report['regions']} held-out clean regions of {report['images']} images"
        )
    if out is not None:
        from pipeline.data.atomic import write_json

        write_json(out, report)


def register(app: typer.Typer) -> None:
    """Add the `data` group to the root app."""
    app.add_typer(data_app, name="data")
