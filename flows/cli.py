"""`defectforge`: the command line. Each area registers its commands from its own module."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from conditioning.errors import DefectforgeError
from flows import (
    cli_campaign,
    cli_data,
    cli_evaluate,
    cli_generate,
    cli_rescore,
    cli_spec,
    cli_studio,
    cli_worth,
)
from pipeline.offline import configure_offline_environment
from pipeline.threads import configure_threads

app = typer.Typer(
    name="defectforge",
    help=(
        "Synthetic defect images for visual inspection: author defect specs, prepare data, "
        "train a ControlNet generator, generate labelled defects, and measure the detector mAP "
        "change in MLflow."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

@app.callback()
def root(
    datasets_dir: Annotated[
        Path | None,
        typer.Option(
            "--datasets-dir",
            help="a folder of product lines (<name>/dataset.yaml) searched first; also "
            "DEFECTFORGE_DATASETS (folders separated by ':')",
        ),
    ] = None,
) -> None:
    """Synthetic defect images for visual inspection (see `defectforge COMMAND --help`)."""
    if datasets_dir is not None:
        from pipeline.paths import DATASETS_ENV

        rest = os.environ.get(DATASETS_ENV)
        os.environ[DATASETS_ENV] = os.pathsep.join([str(datasets_dir.resolve())] + ([rest] if rest else []))


@app.command()
def info() -> None:
    """Print where defectforge reads datasets and writes outputs, tool state and MLflow runs."""
    from pipeline.paths import datasets_search_path, runs_root, state_root

    console = Console(soft_wrap=True)
    console.print(f"datasets   {os.pathsep.join(str(p) for p in datasets_search_path())}")
    console.print(f"runs       {runs_root()}")
    console.print(f"state      {state_root()}")
    console.print(f"mlflow     {os.environ.get('MLFLOW_TRACKING_URI')}")
    console.print(f"prefect    {os.environ.get('PREFECT_API_URL', 'ephemeral (PREFECT_HOME=' + os.environ.get('PREFECT_HOME', '') + ')')}")


for area in (cli_spec, cli_data, cli_generate, cli_evaluate, cli_rescore, cli_campaign, cli_studio,
             cli_worth):
    area.register(app)


def main() -> None:
    """Entry point: offline-safe environment, then the command; user errors exit 2, no traceback."""
    configure_offline_environment()
    configure_threads()
    try:
        app()
    except DefectforgeError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
