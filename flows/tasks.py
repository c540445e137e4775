"""The campaign's Prefect tasks: each calls one library function with paths and small manifests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from flows.cache_keys import key_on


def _not_a_user_error(task: Any, task_run: Any, state: Any) -> bool:
    """Retry crashes and flaky failures, never a DefectforgeError (the input must change)."""
    from conditioning.errors import DefectforgeError

    return not isinstance(state.data, DefectforgeError)


PERSIST_JSON: dict[str, Any] = {"persist_result": True, "result_serializer": "json"}
"""Cached task results are stored as JSON (every task returns paths and small manifests), never
pickled: a results folder shared by a team cannot carry code."""

RETRY = {"retries": 2, "retry_delay_seconds": 5, "retry_condition_fn": _not_a_user_error}
"""Flaky steps (file systems, GPU memory, servers): two retries, 5 s apart."""


@task(name="prepare-data", **RETRY)
def prepare_data(dataset: str, source: str | None) -> dict[str, Any]:
    """Prepare (or reuse) runs/data/<dataset>; returns its root, COCO paths and manifest hash."""
    from pipeline.data.atomic import sha256_file
    from pipeline.data.prepare import prepare_dataset
    from pipeline.data.prepared import PreparedDataset

    prepared = PreparedDataset(prepare_dataset(dataset, source=Path(source) if source else None))
    get_run_logger().info("prepared %s at %s", dataset, prepared.root)
    return {
        "root": str(prepared.root),
        "train_coco": str(prepared.coco_path("train")),
        "test_coco": str(prepared.coco_path("test")),
        "manifest_hash": sha256_file(prepared.root / "manifest.json")[:16],
    }


@task(
    name="choose-real-budget",
    cache_key_fn=key_on("manifest_hash", "k", "seed", "out_path"),
    **PERSIST_JSON,
)
def choose_budget(train_coco: str, k: int, seed: int, out_path: str, manifest_hash: str) -> str:
    """Draw the k real training images every stage shares; returns the budget JSON path."""
    from pipeline.data.budget import choose_real_budget, save_budget

    save_budget(choose_real_budget(train_coco, k, seed), out_path)
    get_run_logger().info("real budget: %d images -> %s", k, out_path)
    return out_path


@task(
    name="train-generator",
    cache_key_fn=key_on("model_key", "out_dir"),
    **PERSIST_JSON,
    **RETRY,
)
def train_generator(
    dataset: str, budget_path: str, out_dir: str, config: dict[str, Any], model_key: str,
    threads: int | None = None,
) -> dict[str, str]:
    """Train the generator on the budget (resuming), or reuse the finished one in `out_dir`;
    `threads`: torch threads (None: the process's)."""
    from pipeline.models import model_revision
    from pipeline.threads import use_threads
    from pipeline.train import train_generator as train

    use_threads(threads)
    logger = get_run_logger()
    finished = (Path(out_dir) / "model_card.json").is_file()
    logger.info(
        "%s generator %s (key %s)", "reusing" if finished else "training", out_dir, model_key
    )
    model_dir = train(dataset, budget_path, out_dir, backend=config["backend"], config=config)
    return {"model_dir": str(model_dir), "revision": model_revision(model_dir)}


@task(name="clean-partial-files")
def clean_partial_files(out_dir: str) -> int:
    """Remove temp files an interrupted run left behind (every write is temp file + rename)."""
    leftovers = [path for path in Path(out_dir).rglob(".*.tmp") if path.is_file()]
    for path in leftovers:
        path.unlink()
    if leftovers:
        get_run_logger().info("removed %d partial files of an interrupted run", len(leftovers))
    return len(leftovers)


@task(
    name="generate-batch",
    task_run_name="generate-{start}-{stop}",
    cache_key_fn=key_on("spec_hash", "revision", "seed", "start", "stop", "out_dir", "render"),
    **PERSIST_JSON,
    **RETRY,
)
def generate_batch(
    dataset: str,
    spec_path: str,
    spec_hash: str,
    model_dir: str,
    revision: str,
    seed: int,
    start: int,
    stop: int,
    out_dir: str,
    budget_path: str,
    render: dict[str, Any],
    threads: int | None = None,
) -> dict[str, Any]:
    """Generate (resuming) samples start..stop-1 with their gate verdicts; returns their counts.
    `threads`: torch threads (None: the worker's)."""
    from flows.batch_generation import generate_range
    from pipeline.threads import use_threads

    use_threads(threads)
    result = generate_range(
        dataset, Path(spec_path), Path(model_dir), start, stop, Path(out_dir),
        seed=seed, revision=revision, budget_path=Path(budget_path), render_options=render,
    )  # fmt: skip
    get_run_logger().info(
        "samples %d..%d: %d finished, %d passed the gate (%d new, on %s)",
        start, stop - 1, result["finished"], result["passed"], result["generated_now"], result["worker"],
    )  # fmt: skip
    return result


@task(
    name="assemble-coco",
    cache_key_fn=key_on("batches", "count", "out_dir", "render"),
    **PERSIST_JSON,
)
def assemble_coco(
    dataset: str,
    spec_path: str,
    model_dir: str,
    count: int,
    out_dir: str,
    seed: int,
    budget_path: str,
    render: dict[str, Any],
    batches: list[dict[str, Any]],
) -> dict[str, Any]:
    """The set's COCO file (gate-passed samples) and summary, rebuilt from the per-sample records."""
    from dataclasses import asdict

    from conditioning.errors import DefectforgeError
    from pipeline.data.atomic import sha256_file
    from pipeline.data.coco_check import check_coco
    from pipeline.generate import generate_set

    summary = generate_set(
        dataset, spec_path, model_dir, count, out_dir, seed=seed, budget_path=budget_path,
        config=render, progress=False,
    )  # fmt: skip
    report = check_coco(Path(out_dir) / "annotations.json")
    if not report.ok:
        raise DefectforgeError(f"{report.path}: invalid COCO file: {'; '.join(report.problems)}")
    get_run_logger().info(
        "COCO %s/annotations.json: %d of %d images passed the gate",
        out_dir, summary.images_in_coco, summary.count,
    )  # fmt: skip
    coco = Path(out_dir) / "annotations.json"
    return {"coco": str(coco), "coco_sha256": sha256_file(coco), **asdict(summary)}


@task(
    name="export-yolo", cache_key_fn=key_on("coco", "budget_path", "out_dir"), **PERSIST_JSON
)
def export_yolo(
    coco: str,
    train_coco: str,
    test_coco: str,
    budget_path: str,
    out_dir: str,
    class_names: list[str],
) -> str:
    """YOLO dataset: real budget + synthetic set for training, the real test split for val."""
    from pipeline.data.yolo_export import export_yolo as export

    data_yaml = export(
        [(train_coco, None), (coco, None)], out_dir, class_names,
        val=(test_coco, None), budget_path=budget_path,
    )  # fmt: skip
    get_run_logger().info("YOLO export: %s", data_yaml)
    return str(data_yaml)


@task(
    name="evaluate-arms",
    cache_key_fn=key_on("eval_config", "coco_sha256"),
    **PERSIST_JSON,
    **RETRY,
)
def evaluate_arms(eval_config: dict[str, Any], coco_sha256: str) -> dict[str, Any]:
    """Train and validate a detector per arm and seed; logs the MLflow report; returns a summary."""
    from eval.config import EvalConfig
    from eval.protocol import run_evaluation

    report = run_evaluation(EvalConfig.model_validate(eval_config))
    get_run_logger().info("evaluation report: %s (best arm %s)", report.report_dir, report.best_arm)
    return report.model_dump(mode="json")


@task(name="measure-realism", cache_key_fn=key_on("real_coco", "coco_sha256"), **PERSIST_JSON)
def measure_realism(real_coco: str, generated_coco: str, coco_sha256: str) -> dict[str, Any]:
    """The realism classifier on tight crops (0.5 = indistinguishable from real); a set too
    small to test gives the reason instead of a number."""
    from conditioning.errors import DefectforgeError
    from eval.realism import realism_report

    try:
        test = realism_report(real_coco, generated_coco, repeats=1)["classifier_two_sample"]
    except DefectforgeError as error:
        get_run_logger().info("realism skipped: %s", error)
        return {"accuracy": None, "skipped": str(error)}
    return {"accuracy": test["accuracy"], "ci_low": test["ci_low"], "ci_high": test["ci_high"]}


@task(name="log-trend")
def log_trend(experiment: str, campaign: str, points: dict[str, float],
              evaluation_run: str | None) -> int:
    """One point per key metric on the campaign's MLflow trend run; returns the step."""
    from eval.trend import log_point

    step = log_point(experiment, campaign, points, evaluation_run)
    get_run_logger().info("trend point %d of %s: %s", step, campaign, points)
    return step
