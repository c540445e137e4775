"""`defectforge spec`: validate defect-spec files, print their JSON Schema, preview their masks,
fit their numbers to a dataset's real masks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

spec_app = typer.Typer(
    help="Author defect specs (datasets/<name>/defects.yaml): validate, print the schema, "
    "preview, fit the numbers to the real masks.",
    no_args_is_help=True,
)


@spec_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Spec files to validate.")],
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            help="Also require `classes` to equal this dataset's dataset.yaml classes, in order, "
            "and, when it is prepared, check each defect's surface against its real train masks.",
        ),
    ] = None,
    budget: Annotated[
        Path | None,
        typer.Option("--budget", help="With --dataset: measure surfaces on this budget's images."),
    ] = None,
) -> None:
    """Validate spec files: exit 0 when all are valid, else print every problem as `file:line:column: field.path: message` (unknown keys with the closest valid key) and exit 2; a valid file's params without effect (a pin-hole's `aspect` with `lobes` of 2 or more) are printed as notes. With --dataset, a defect placed on `foreground` / `background` while its class's real masks lie on the other surface is a problem too."""
    from conditioning.errors import DefectforgeError
    from conditioning.spec import check_classes, load_library

    failed = False
    real: list | None = None
    for file in files:
        try:
            library = load_library(file)
            if dataset:
                from pipeline.data.registry import load_dataset_info

                check_classes(library, load_dataset_info(dataset).class_names)
                real = _real_records(dataset, budget) if real is None else real
                if _surface_problems(library, file, real):
                    failed = True
                    continue
        except DefectforgeError as error:
            failed = True
            typer.echo(str(error))
            continue
        typer.echo(
            f"ok {file}: product `{library.product}`, {len(library.defects)} defects, "
            f"hash {library.content_hash}"
        )
        for note in library.notes:
            typer.echo(f"note: {note}")
    if failed:
        raise typer.Exit(2)


def _real_records(dataset: str, budget: Path | None) -> list:
    """The train records the surface check reads; [] (with a note) when not prepared."""
    from pipeline.data.prepared import prepared_root
    from pipeline.labels.surface import real_records

    if not (prepared_root(dataset) / "manifest.json").is_file():
        typer.echo(f"note: surface check skipped, dataset `{dataset}` is not prepared "
                   f"(`defectforge data prepare {dataset}`)")
        return []
    return real_records(dataset, budget)


def _surface_problems(library, file: Path, records: list) -> bool:
    """Print the measured surface of each class and every misplaced defect; True if any."""
    from pipeline.labels.surface import check_surfaces

    if not records:
        return False
    result = check_surfaces(library, file, records)
    shares = ", ".join(f"{c} {s.foreground:.0%}" for c, s in result.shares.items())
    typer.echo(f"surface of {file} on {result.images} real train images "
               f"(share of mask pixels on the `foreground: {result.polarity}` side): {shares}")
    for problem in result.problems:
        typer.echo(str(problem))
    return bool(result.problems)


@spec_app.command("fit")
def fit(
    dataset: Annotated[str, typer.Option("--dataset", help="Prepared dataset whose real train "
                                         "masks the numbers come from.")],
    budget: Annotated[
        Path | None,
        typer.Option("--budget", help="Budget manifest (`defectforge data budget`): fit to its k "
                     "images; unset: at most 300 evenly spaced train images."),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="Spec to update (default: the dataset's defects.yaml; a new "
                     "one is written when it has none)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write (default: the spec updated in place).")
    ] = None,
    samples: Annotated[
        int | None, typer.Option("--samples", min=8, help="Masks wanted per defect per fitting "
                                 "round (default: pipeline.labels.shape_sim.SAMPLES).")
    ] = None,
    rounds: Annotated[
        int | None, typer.Option("--rounds", min=0, help="Most fitting rounds (default: "
                                 "pipeline.labels.fit_shapes.ROUNDS).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated placements.")] = 0,
) -> None:
    """Fit a spec's numbers to the real masks (train split only): each defect's `count`, `min_per_image` / `max_per_image` (quantiles of instances per image), surfaces, the context around each defect (`placement.context`: foreground share near its real masks), how anchors are drawn (`placement.pick`: by pixel or by trace, whichever puts the placed masks on surfaces as wide as the real ones), and shape params (placed on the real clean references, measured as the label parity report does, rescaled toward the real median mask area and elongation). Updates only the numbers (comments kept); prints real against fitted medians and whether they are within the parity tolerances (exit 0 either way)."""
    from pipeline.data.registry import spec_path
    from pipeline.labels.fit_spec import fit_spec
    from pipeline.labels.surface import real_records

    records = real_records(dataset, budget)
    default = spec_path(dataset)
    start = spec if spec is not None else (default if default.is_file() else None)
    target = out or start or default
    source = dataset + (f" --budget {budget}" if budget else "")
    tuning = {k: v for k, v in (("samples", samples), ("rounds", rounds)) if v is not None}
    result = fit_spec(dataset, records, start, target, source=source, seed=seed, **tuning)
    _print_fit(result)


def _print_fit(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from pipeline.labels.fit_context import SHARE_QUANTILES
    from pipeline.labels.parity import fmt
    from pipeline.labels.tolerances import TOLERANCES

    table = Table(title=f"spec fit: {result.real_images} real images; median mask area (px²) and "
                  "elongation, real / before -> after")
    for name in ("class", "defect", "real n", "area real", "area before", "area after",
                 "elong. real", "elong. before", "elong. after", "on fg real / after",
                 "best round", "ok"):
        table.add_column(name)
    marks = {True: "yes", False: "NO", None: "- (few)"}
    for row in result.classes:
        table.add_row(row.class_name, row.defect, str(row.real_instances), fmt(row.real_area),
                      fmt(row.before[0]), fmt(row.after[0]), fmt(row.real_elongation),
                      fmt(row.before[1]), fmt(row.after[1]),
                      f"{fmt(row.surface[0])} / {fmt(row.surface[1])}", str(row.best_round),
                      marks[row.ok] + (f" {row.note}" if row.note else ""))
    console = Console(width=160)
    console.print(table)
    images, failed = result.placed
    console.print(f"simulated: the fitted spec placed on {images} images of the real clean "
                  f"references ({failed} could not be placed, as an arm skips them)")
    if result.contexts:
        median = SHARE_QUANTILES.index(0.5)
        console.print("contexts (window margin; foreground share of the real defects, median "
                      "[10 %, 90 %]; placement follows their deciles): "
                      + ", ".join(f"{name} {c['margin']:g} px {c['quantiles'][median]:g} [{c['foreground'][0]:g}, "
                                  f"{c['foreground'][1]:g}]" for name, c in result.contexts.items()))
    if result.picks:
        console.print("anchors (`placement.pick`; median width of the surface next to the real "
                      "defects, then as placed by pixel / by trace): "
                      + ", ".join(f"{p.defect} {p.chosen} (real {p.real:.3g} px; "
                                  + " / ".join("-" if w is None else f"{w:.3g}" for w in p.simulated.values())
                                  + ")" for p in result.picks))
    real, before, after = result.per_image
    console.print(f"instances per defective image (mean): real {real:.2f}, spec before "
                  f"{before:.2f} -> after {after:.2f}; class mix TV distance to real "
                  f"{result.mix_distance[0]:.2f} -> {result.mix_distance[1]:.2f}")
    verdict = "within" if result.ok else "NOT within"
    console.print(f"{verdict} the label parity tolerances (area x{list(TOLERANCES.area_ratio)}, "
                  f"elongation x{list(TOLERANCES.elongation_ratio)}, instances "
                  f"x{list(TOLERANCES.instances_ratio)}, class mix TV <= {TOLERANCES.class_mix_tv}, "
                  f"surface ±{TOLERANCES.surface_abs})"
                  f"; started from {result.started_from}; {len(result.changes)} values changed; "
                  f"wrote {result.out}")


@spec_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of spec files (committed as datasets/defect-spec.schema.json; the `# yaml-language-server: $schema=...` modeline of each spec points editors to it)."""
    from conditioning.spec import library_json_schema

    typer.echo(json.dumps(library_json_schema(), indent=2))


@spec_app.command("kinds")
def kinds() -> None:
    """List the mask kinds: default surface, the shape params each reads and their default ranges."""
    from conditioning.masks import KINDS

    for kind in sorted(KINDS.values(), key=lambda k: k.name):
        params = ", ".join(f"{name} [{lo:g}, {hi:g}]" for name, (lo, hi) in kind.params.items())
        typer.echo(f"{kind.name:17} surface={kind.surface:10} {params}\n{'':17} {kind.description}")


@spec_app.command("preview")
def preview(
    spec: Annotated[Path, typer.Argument(help="The spec file (defects.yaml).")],
    images: Annotated[Path, typer.Option("--images", help="Folder of clean background images.")],
    out: Annotated[Path, typer.Option("--out", help="PNG contact sheet to write.")],
    count: Annotated[
        int, typer.Option("--count", min=1, help="Backgrounds on the sheet (picked by seed).")
    ] = 4,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the first row; row i uses seed + i.")
    ] = 0,
    edges: Annotated[
        str,
        typer.Option(
            "--edges",
            help="Edge detector: canny, lineart_standard; hed, pidinet, lineart, mlsd, teed need --edge-weights.",
        ),
    ] = "canny",
    edge_weights: Annotated[
        Path | None,
        typer.Option("--edge-weights", help="Local folder with the edge detector's weights."),
    ] = None,
) -> None:
    """Write a PNG contact sheet: per background its defect masks overlaid in class colours, the edge map and the class map, with a class legend. Rows whose spec cannot be placed show the reason (also printed as warnings)."""
    import numpy as np

    from conditioning.errors import DefectforgeError
    from conditioning.preview import contact_sheet, list_images, read_rgb
    from conditioning.spec import load_library
    from pipeline.data.atomic import write_png

    library = load_library(spec)
    if not images.is_dir() or not (found := list_images(images)):
        raise DefectforgeError(f"--images {images}: no PNG/JPEG images found in this folder")
    order = np.random.default_rng(seed).permutation(len(found))[:count]
    chosen = [(found[i].name, read_rgb(found[i])) for i in sorted(order)]
    sheet, errors = contact_sheet(
        library, chosen, seed, edge_detector=edges, edge_weights=edge_weights
    )
    write_png(out, sheet)
    for error in errors:
        typer.echo(f"warning: {error}", err=True)
    typer.echo(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]}, {len(chosen)} backgrounds)")


def register(app: typer.Typer) -> None:
    """Add the `spec` group to the root app."""
    app.add_typer(spec_app, name="spec")
