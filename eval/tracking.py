"""MLflow logging of an evaluation: a parent run, one nested run per arm and seed, the report
artifacts, and the best detector in the model registry. The tracking URI comes from the
environment (pipeline.offline defaults it to a SQLite file under runs/state)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.offline import configure_offline_environment


def tracking_uri() -> str:
    """The MLflow tracking URI this process uses."""
    configure_offline_environment()
    return os.environ["MLFLOW_TRACKING_URI"]


def _mlflow():
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


@contextmanager
def parent_run(experiment: str, run_name: str, params: dict[str, Any]) -> Iterator[Any]:
    """Start (and end) the evaluation's parent run."""
    mlflow = _mlflow()
    _ensure_experiment(mlflow, experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({k: _param(v) for k, v in params.items()})
        yield run


def _ensure_experiment(mlflow, name: str) -> None:
    """Select the experiment; a new one on a SQLite store keeps artifacts beside the database
    (MLflow's default would be ./mlruns in the current folder)."""
    uri = tracking_uri()
    if mlflow.get_experiment_by_name(name) is None and uri.startswith("sqlite:///"):
        root = Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
        mlflow.create_experiment(name, artifact_location=(root / name).resolve().as_uri())
    mlflow.set_experiment(name)


def log_nested_run(
    name: str, params: dict[str, Any], metrics: dict[str, float], artifacts: dict[str, Path]
) -> str:
    """One nested run under the active parent; artifacts map a folder name to a file."""
    mlflow = _mlflow()
    with mlflow.start_run(run_name=name, nested=True) as run:
        mlflow.log_params({k: _param(v) for k, v in params.items()})
        mlflow.log_metrics(metrics)
        for folder, path in artifacts.items():
            if path is not None and Path(path).is_file():
                mlflow.log_artifact(str(path), artifact_path=folder)
        return run.info.run_id


def log_parent_params(params: dict[str, Any]) -> None:
    """Parameters only known after the runs (e.g. the generator revision)."""
    _mlflow().log_params({k: _param(v) for k, v in params.items()})


def log_parent_results(metrics: dict[str, float], artifacts: dict[str, Path | None]) -> None:
    """Metrics and artifacts of the active parent run."""
    mlflow = _mlflow()
    mlflow.log_metrics(metrics)
    for folder, path in artifacts.items():
        if path is not None and Path(path).is_file():
            mlflow.log_artifact(str(path), artifact_path=folder)


def register_detector(weights: Path, name: str, source_run_id: str | None) -> str:
    """Log the weights as a pyfunc model in the active run and register it; returns `name/version`."""
    mlflow = _mlflow()
    from eval.yolo_pyfunc import YoloDetector

    info = mlflow.pyfunc.log_model(
        name="best-detector",
        python_model=YoloDetector(),
        artifacts={"weights": str(weights)},
        pip_requirements=["ultralytics", "pandas"],
        registered_model_name=name,
        tags={"source_run_id": source_run_id or ""},
    )
    return f"{name}/{info.registered_model_version}"


def ui_command() -> str:
    """The command that opens this store in the MLflow UI."""
    return f"mlflow ui --backend-store-uri {tracking_uri()}"


def _param(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."
