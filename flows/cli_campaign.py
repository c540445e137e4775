"""CLI: `campaign`, `demo`, `serve`, `servers` (Prefect campaigns, schedules, local servers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Campaign YAML (datasets/campaigns/*.yaml).")
]


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command()(campaign)
    app.command()(demo)
    app.command()(serve)
    app.command()(servers)


def campaign(
    config: ConfigOpt = None,
    dataset: Annotated[str | None, typer.Option(help="Product line (datasets/<name>).")] = None,
    source: Annotated[
        Path | None, typer.Option(help="Raw data folder (e.g. DeepPCB checkout).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Campaign name (output folder, MLflow experiment).")
    ] = None,
    count: Annotated[int | None, typer.Option(help="Synthetic images to generate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Samples per generation task.")] = None,
    seed: Annotated[int | None, typer.Option(help="Generation seed.")] = None,
    real_budget: Annotated[int | None, typer.Option(help="Real training images (k).")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Trained generator folder to use (skips training).")
    ] = None,
    arms: Annotated[
        str | None, typer.Option(help="Comma-separated detector arms, e.g. real,diffusion.")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Detector epochs per arm and seed.")] = None,
    runner: Annotated[str | None, typer.Option(help="local or dask.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Dask LocalCluster workers (runner dask).")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Existing Dask scheduler address (runner dask).")
    ] = None,
    refresh_cache: Annotated[
        bool, typer.Option(help="Recompute cached tasks (after deleting outputs).")
    ] = False,
    print_config: Annotated[bool, typer.Option(help="Print the resolved config and exit.")] = False,
) -> None:
    """Run a campaign: prepare data, train or reuse the generator, generate + gate, export, evaluate.

    Rerun the same command after an interruption: finished work is reused, nothing is duplicated.
    """
    flags: dict[str, Any] = {
        "dataset": dataset, "source": source, "name": name, "count": count, "batch_size": batch_size,
        "seed": seed, "real_budget": real_budget, "model": model, "epochs": epochs,
        "runner": runner, "arms": arms.split(",") if arms else None,
    }  # fmt: skip
    overrides = {key: value for key, value in flags.items() if value is not None}
    dask = {
        key: value for key, value in {"n_workers": workers, "address": address}.items() if value
    }
    if dask:
        overrides["dask"] = dask
    _run(_load(config, overrides), refresh_cache=refresh_cache, print_config=print_config)


def demo(
    print_config: Annotated[bool, typer.Option(help="Print the demo config and exit.")] = False,
) -> None:
    """The campaign on the bundled `sample` product line, sized for a CPU, then a summary table."""
    from flows.campaign_config import DEMO_CONFIG

    _run(_load(None, DEMO_CONFIG), refresh_cache=False, print_config=print_config)


def serve(
    file: Annotated[Path | None, typer.Option(help="prefect.yaml with the deployments.")] = None,
    name: Annotated[list[str] | None, typer.Option(help="Serve only these deployments.")] = None,
    limit: Annotated[int | None, typer.Option(help="Most flow runs at once.")] = None,
) -> None:
    """Register the scheduled campaign deployments (cron) and run them until stopped (Ctrl-C)."""
    from flows.serve import PREFECT_YAML, serve_deployments

    serve_deployments(file or PREFECT_YAML, name, limit)


def servers(
    prefect_port: Annotated[int, typer.Option(help="Prefect server port.")] = 4200,
    mlflow_port: Annotated[int, typer.Option(help="MLflow server port.")] = 5000,
) -> None:
    """Start a local Prefect server and MLflow server on 127.0.0.1 (state under runs/state)."""

    from rich.console import Console

    from flows import servers as local

    console = Console()
    started: list[local.Server] = []
    with local.interrupt_on_termination():
        try:
            started.append(local.start_prefect_server(prefect_port))
            started.append(local.start_mlflow_server(mlflow_port))
            _serve_until_stopped(console, local, started)
        except KeyboardInterrupt:
            pass
        finally:
            for server in started:
                local.stop(server)


def _serve_until_stopped(console, local, started) -> None:  # noqa: ANN001 - rich, flows.servers
    """Wait until both servers answer, print the exports, then wait until one of them exits."""
    import time

    with console.status("waiting for the servers to answer..."):
        for server in started:
            local.wait_healthy(server)
    for server in started:
        console.print(
            f"[bold]{server.name}[/] {server.url.removesuffix('/api')}  (log {server.log_path})"
        )
    console.print("\nIn another shell:")
    for server in started:
        console.print(f"  export {server.env_var}={server.url}", highlight=False)
    console.print("\nCtrl-C (or SIGTERM) stops both servers.")
    while all(server.process.poll() is None for server in started):
        time.sleep(1)


def _load(config: Path | None, overrides: dict[str, Any]):
    from flows.campaign_config import build_config, load_campaign_config

    if config is not None:
        return load_campaign_config(config, overrides)
    return build_config(overrides, origin="command line")


def _run(cfg, *, refresh_cache: bool, print_config: bool) -> None:
    import os

    from rich.console import Console

    if print_config:
        Console().print_json(json.dumps(cfg.model_dump(mode="json")))
        return
    if refresh_cache:
        os.environ["PREFECT_TASKS_REFRESH_CACHE"] = "true"
    from flows.campaign import run_campaign
    from flows.progress import rich_progress
    from flows.summary_table import print_summary

    with rich_progress():
        summary = run_campaign(cfg)
    print_summary(summary)
