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


KEY_TAG = "defectforge.key"
"""Tag that identifies a run across reruns: the evaluation's key on a parent run, `arm-seedN`
on a nested one; a rerun finds its runs by it and updates them instead of adding new ones."""
LOGGED_TAG = "defectforge.logged"
"""Tag on a nested run: digest of what was logged into it (equal: nothing to log again)."""


@contextmanager
def parent_run(experiment: str, run_name: str, params: dict[str, Any], key: str) -> Iterator[Any]:
    """Start (and end) the evaluation's parent run: the run tagged with `key` when one exists
    (a rerun of the same evaluation), else a new one."""
    mlflow = _mlflow()
    _ensure_experiment(mlflow, experiment)
    experiment_id = mlflow.get_experiment_by_name(experiment).experiment_id
    found = _find_run(mlflow, experiment_id, f"tags.`{KEY_TAG}` = '{key}'", parent_id=None)
    with mlflow.start_run(run_id=found, run_name=run_name) as run:
        mlflow.set_tag(KEY_TAG, key)
        _log_new_params(mlflow, run.info.run_id, params)
        yield run


def tagged_run(experiment: str, key: str, value: str, run_name: str) -> str:
    """The id of the experiment's top-level run tagged `key=value`, created (finished, with
    that name) when there is none."""
    mlflow = _mlflow()
    _ensure_experiment(mlflow, experiment)
    experiment_id = mlflow.get_experiment_by_name(experiment).experiment_id
    found = _find_run(mlflow, experiment_id, f"tags.`{key}` = '{value}'", parent_id=None)
    if found:
        return found
    client = mlflow.MlflowClient()
    run = client.create_run(experiment_id, run_name=run_name, tags={key: value})
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _find_run(mlflow, experiment_id: str, query: str, parent_id: str | None) -> str | None:
    """The newest run of the experiment matching `query` (under `parent_id`, or a top-level
    one when None)."""
    runs = mlflow.MlflowClient().search_runs([experiment_id], query,
                                             order_by=["attributes.start_time DESC"])
    for run in runs:
        if run.data.tags.get("mlflow.parentRunId") == parent_id:
            return run.info.run_id
    return None


def _log_new_params(mlflow, run_id: str, params: dict[str, Any]) -> None:
    """Log params the run does not have yet (a rerun of the same key has the same values)."""
    have = mlflow.MlflowClient().get_run(run_id).data.params
    mlflow.log_params({k: _param(v) for k, v in params.items() if k not in have})


def _ensure_experiment(mlflow, name: str) -> None:
    """Select the experiment; a new one on a SQLite store keeps artifacts beside the database
    (MLflow's default would be ./mlruns in the current folder)."""
    uri = tracking_uri()
    if mlflow.get_experiment_by_name(name) is None and uri.startswith("sqlite:///"):
        root = Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts"
        mlflow.create_experiment(name, artifact_location=(root / name).resolve().as_uri())
    mlflow.set_experiment(name)


def log_nested_run(
    name: str, params: dict[str, Any], metrics: dict[str, float], artifacts: dict[str, Path | None],
    curves: dict[str, list[list[float]]] | None = None,
) -> str:
    """One nested run under the active parent (found again by `name` on a rerun); artifacts map
    a folder name to a file; `curves` map a metric to its [step, value] points. A run that
    already holds exactly this is left as it is."""
    import hashlib
    import json

    mlflow = _mlflow()
    parent = mlflow.active_run().info
    digest = hashlib.sha256(json.dumps([params, metrics, curves], sort_keys=True,
                                       default=str).encode()).hexdigest()[:16]
    found = _find_run(mlflow, parent.experiment_id, f"tags.`{KEY_TAG}` = '{name}'",
                      parent_id=parent.run_id)
    if found and mlflow.MlflowClient().get_run(found).data.tags.get(LOGGED_TAG) == digest:
        return found
    with mlflow.start_run(run_id=found, run_name=name, nested=True) as run:
        mlflow.set_tag(KEY_TAG, name)
        _log_new_params(mlflow, run.info.run_id, params)
        mlflow.log_metrics(metrics)
        log_curves(run.info.run_id, curves or {})
        for folder, path in artifacts.items():
            if path is not None and Path(path).is_file():
                mlflow.log_artifact(str(path), artifact_path=folder)
        mlflow.set_tag(LOGGED_TAG, digest)
        return run.info.run_id


def log_curves(run_id: str, curves: dict[str, list[list[float]]]) -> None:
    """Per-epoch values as metrics with steps (drawn as curves on the run's Model metrics tab)."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    points = [Metric(name, value, now, int(step))
              for name, series in curves.items() for step, value in series]
    client = _mlflow().MlflowClient()
    for start in range(0, len(points), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=points[start : start + 1000])


def log_parent_params(params: dict[str, Any]) -> None:
    """Parameters only known after the runs (e.g. the generator revision)."""
    mlflow = _mlflow()
    _log_new_params(mlflow, mlflow.active_run().info.run_id, params)


def log_parent_results(metrics: dict[str, float], artifacts: dict[str, Path | None]) -> None:
    """Metrics and artifacts of the active parent run."""
    mlflow = _mlflow()
    mlflow.log_metrics(metrics)
    for folder, path in artifacts.items():
        if path is not None and Path(path).is_file():
            mlflow.log_artifact(str(path), artifact_path=folder)


def set_run_page(description: str, tags: dict[str, str]) -> None:
    """The active run's description (markdown, shown on its page) and tags."""
    mlflow = _mlflow()
    mlflow.set_tags({**tags, "mlflow.note.content": description})


CHAMPION = "champion"
"""Registry alias of the detector to use: moved only when a synthetic arm beats real-only."""


def register_detector(weights: Path, name: str, source_run_id: str | None, example_image: Path,
                      champion: bool) -> str:
    """Log the weights as a pyfunc model (signature, input example) in the active run and
    register it, unless this run already registered this source run's weights (a rerun);
    point the `champion` alias at it when `champion`. Returns `name/version`."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    parent = mlflow.active_run().info.run_id
    versions = [v for v in client.search_model_versions(f"name = '{name}' and run_id = '{parent}'")
                if v.tags.get("source_run_id") == (source_run_id or "")]
    if versions:
        version = versions[0].version
    else:
        version = _log_detector(mlflow, weights, name, source_run_id, example_image)
    if champion:
        client.set_registered_model_alias(name, CHAMPION, version)
    return f"{name}/{version}"


def _log_detector(mlflow, weights: Path, name: str, source_run_id: str | None,
                  example_image: Path) -> str:
    import pandas as pd

    from eval.yolo_pyfunc import YoloDetector, signature

    info = mlflow.pyfunc.log_model(
        name="best-detector",
        python_model=YoloDetector(),
        artifacts={"weights": str(weights)},
        pip_requirements=["ultralytics", "pandas"],
        signature=signature(),
        input_example=pd.DataFrame({"image_path": [str(example_image)]}),
        registered_model_name=name,
        tags={"source_run_id": source_run_id or ""},
    )
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_model_version_tag(name, version, "source_run_id", source_run_id or "")
    return version


def ui_command() -> str:
    """The command that opens this store in the MLflow UI."""
    return f"mlflow ui --backend-store-uri {tracking_uri()}"


def _param(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."


def log_to_run(uri: str, run_id: str, metrics: dict[str, float], artifacts: dict[str, Path]) -> None:
    """Metrics and artifacts added to a finished run (e.g. an evaluation's parent) in store `uri`."""
    client = _mlflow().MlflowClient(tracking_uri=uri)
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    for folder, path in artifacts.items():
        client.log_artifact(run_id, str(path), artifact_path=folder)
