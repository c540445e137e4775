"""The campaign flow: data -> real budget -> generator -> batched generation + gate -> COCO/YOLO
-> detector arms (the realism check beside them) -> MLflow report -> a point on the campaign's
MLflow trend. Each step is one thin task (flows/tasks.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, unmapped
from prefect.futures import as_completed

from eval.trend import key_points
from flows import tasks
from flows.cache_keys import content_hash
from flows.campaign_config import CampaignConfig, load_campaign_config
from flows.dask_runner import task_runner_for
from flows.progress import report
from flows.real_ahead import RealArmAhead
from pipeline.data.atomic import write_json
from pipeline.offline import configure_offline_environment
from pipeline.paths import runs_root


def batch_ranges(count: int, batch_size: int) -> list[tuple[int, int]]:
    """Deterministic sample-index ranges [start, stop) covering 0..count-1."""
    return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]


@flow(name="campaign-synthesize")
def synthesize_and_evaluate(
    cfg: CampaignConfig,
    data: dict[str, Any],
    spec_hash: str,
    model: dict[str, str],
    budget_path: str,
    render: dict[str, Any],
    evaluation_settings: dict[str, Any],
    threads: int | None = None,
) -> dict[str, Any]:
    """Steps 3-4 on the configured task runner (threads, or Dask workers): generation mapped
    over sample ranges with its gate (`threads`: torch threads of a local generation task), one
    COCO file, its YOLO export, the detector arms beside the realism check."""
    generated = cfg.out_dir / "generated"
    ranges = batch_ranges(cfg.count, cfg.batch_size)
    tasks.clean_partial_files(str(generated))
    futures = tasks.generate_batch.map(
        dataset=unmapped(cfg.dataset),
        spec_path=unmapped(str(cfg.spec_path)),
        spec_hash=unmapped(spec_hash),
        model_dir=unmapped(model["model_dir"]),
        revision=unmapped(model["revision"]),
        seed=unmapped(cfg.seed),
        start=[start for start, _ in ranges],
        stop=[stop for _, stop in ranges],
        out_dir=unmapped(str(generated)),
        budget_path=unmapped(budget_path),
        render=unmapped(render),
        threads=unmapped(threads),
    )
    report("generation", 0, len(futures))
    for done, _ in enumerate(as_completed(futures), start=1):
        report("generation", done, len(futures))
    batches = [future.result() for future in futures]

    coco = cached(
        tasks.assemble_coco, lambda result: result["coco"],
        cfg.dataset, str(cfg.spec_path), model["model_dir"], cfg.count, str(generated), cfg.seed,
        budget_path, render, batches,
    )  # fmt: skip
    data_yaml = cached(
        tasks.export_yolo, str,
        coco["coco"], data["train_coco"], data["test_coco"], budget_path,
        str(cfg.out_dir / "yolo"), class_names(cfg),
    )  # fmt: skip
    report("export")

    # the realism check needs no detector: it runs while the detectors train
    realism = tasks.measure_realism.submit(data["test_coco"], coco["coco"], coco["coco_sha256"])
    evaluation: dict[str, Any] = {}
    skipped: list[str] = []
    if cfg.evaluate:
        arms = arms_to_run(evaluation_settings["arms"], coco)
        skipped = sorted(set(evaluation_settings["arms"]) - set(arms))
        evaluation = cached(
            tasks.evaluate_arms, lambda result: result["report_dir"],
            {**evaluation_settings, "arms": arms}, coco["coco_sha256"],
        )  # fmt: skip
    report("evaluation")
    return {"batches": batches, "generation": coco, "yolo": data_yaml, "evaluation": evaluation,
            "skipped_arms": skipped, "realism": realism.result()}  # fmt: skip


def trains_real_arm(cfg: CampaignConfig) -> bool:
    """Whether the campaign evaluates a real-only arm, which can train before anything is generated."""
    return cfg.evaluate and "real" in cfg.arms


def arms_to_run(arms: list[str], generation: dict[str, Any]) -> list[str]:
    """The configured arms, less `diffusion` when no generated image passed the gate (said loudly)."""
    if generation["images_in_coco"] > 0 or "diffusion" not in arms:
        return arms
    get_run_logger().warning(
        "no generated image passed the QA gate (%s): the diffusion arm is skipped; train the "
        "generator longer (train.base_steps / train.control_steps)", generation["coco"]
    )  # fmt: skip
    return [arm for arm in arms if arm != "diffusion"]


def cached(task: Any, output_of: Callable[[Any], Any], *args: Any) -> Any:
    """Run a content-cached task; when a cached result names an output someone deleted since,
    run it again with `refresh_cache` (caches are keyed by content, and outputs can vanish)."""
    result = task.submit(*args).result()
    if not Path(output_of(result)).exists():
        get_run_logger().info(
            "%s: cached output %s is gone, recomputing", task.name, output_of(result)
        )
        result = task.with_options(refresh_cache=True).submit(*args).result()
    return result


def resolve_config(config: CampaignConfig | None, config_file: str | None) -> CampaignConfig:
    """Exactly one of a config object or a YAML path (deployments pass the path)."""
    if (config is None) == (config_file is None):
        from conditioning.errors import DefectforgeError

        raise DefectforgeError(
            "campaign: pass either `config` or `config_file` (not both, not neither)"
        )
    return config if config is not None else load_campaign_config(Path(config_file))


@flow(name="campaign", log_prints=True)
def campaign(
    config: CampaignConfig | None = None, config_file: str | None = None
) -> dict[str, Any]:
    """Run one campaign end to end; resumable (rerun after any interruption)."""
    configure_offline_environment()
    cfg = resolve_config(config, config_file)
    logger = get_run_logger()
    logger.info(
        "campaign %s: %s", cfg.campaign_name, cfg.model_dump(mode="json", exclude_defaults=True)
    )

    # 0. every stage's settings, validated before any work
    train_config = training_config(cfg)
    render = render_config(cfg)
    evaluation_settings = eval_config(cfg)
    spec_hash = spec_content_hash(cfg.spec_path)

    # 1. prepared data and the shared real budget
    data = tasks.prepare_data(cfg.dataset, str(cfg.source) if cfg.source else None)
    budget_path = cached(
        tasks.choose_budget, str, data["train_coco"], cfg.real_budget, cfg.budget_seed,
        str(cfg.out_dir / "budget.json"), data["manifest_hash"],
    )  # fmt: skip
    report("data")

    # 2-4. the real-only detectors train beside the generator, which is reused when one
    # matches the data manifest and the training config; then generation + gate, COCO + YOLO,
    # the other detector arms and the MLflow report
    with RealArmAhead(evaluation_settings if trains_real_arm(cfg) else None) as ahead:
        model_key = content_hash(
            {"data": data["manifest_hash"], "budget": [cfg.real_budget, cfg.budget_seed],
             "train": train_config}
        )  # fmt: skip
        model = use_model(cfg.model_path) if cfg.model_path else cached(
            tasks.train_generator, lambda result: Path(result["model_dir"]) / "model_card.json",
            cfg.dataset, budget_path, str(runs_root() / "models" / f"{cfg.dataset}-{model_key}"),
            train_config, model_key, ahead.threads,
        )  # fmt: skip
        report("generator")
        results = synthesize_and_evaluate.with_options(task_runner=task_runner_for(cfg))(
            cfg, data, spec_hash, model, budget_path, render, evaluation_settings,
            ahead.threads if cfg.runner == "local" else None,
        )  # fmt: skip

    # 5. the trend: this campaign's key metrics as one point on the campaign's MLflow trend run
    realism = results["realism"]
    points = key_points(results["evaluation"] or None, results["generation"]["image_pass_rate"],
                        realism["accuracy"])
    step = tasks.log_trend(evaluation_settings["experiment"], cfg.campaign_name, points,
                           (results["evaluation"] or {}).get("parent_run_id"))

    summary = {**campaign_summary(cfg, results), "realism": realism, "key_metrics": points,
               "trend_step": step, "real_arm_ahead": ahead.outcome}
    write_json(cfg.out_dir / "summary.json", summary)
    logger.info("campaign %s done: %s", cfg.campaign_name, cfg.out_dir / "summary.json")
    return summary


def training_config(cfg: CampaignConfig) -> dict[str, Any]:
    """The generator's full training config (validated now: a typo fails before any work)."""
    from pydantic import ValidationError

    from conditioning.errors import DefectforgeError
    from pipeline.train import TrainConfig

    try:
        return TrainConfig(**{**cfg.train, "backend": cfg.backend}).model_dump(mode="json")
    except ValidationError as error:
        problems = "; ".join(
            f"train.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()
        )
        raise DefectforgeError(f"campaign {cfg.campaign_name}: {problems}") from None


def render_config(cfg: CampaignConfig) -> dict[str, Any]:
    """The full generation (render + gate) config, validated before any work."""
    from pipeline.generate import render_settings

    settings = render_settings(cfg.render, origin=f"campaign {cfg.campaign_name}", prefix="render.")
    return settings.model_dump(mode="json")


def use_model(model_dir: Path) -> dict[str, str]:
    """A generator trained elsewhere (`model:` in the config): checked, with its revision."""
    from pipeline.models import model_revision
    from pipeline.models.base import read_model_meta

    read_model_meta(model_dir)  # raises a DefectforgeError naming the folder when it is no model
    return {"model_dir": str(model_dir.resolve()), "revision": model_revision(model_dir)}


def spec_content_hash(spec_path: Path) -> str:
    """The defect library's content hash (part of every sample id and cache key)."""
    from conditioning.spec import load_library

    return load_library(spec_path).content_hash


def class_names(cfg: CampaignConfig) -> list[str]:
    """Class names from the dataset's dataset.yaml (no magic strings)."""
    from pipeline.data.registry import load_dataset_info

    return load_dataset_info(cfg.dataset).class_names


def eval_config(cfg: CampaignConfig) -> dict[str, Any]:
    """The evaluation settings (profile defaults + the campaign's overrides), validated up front."""
    from eval.config import resolve_config as resolve_eval

    overrides = {"real_budget": cfg.real_budget, "arms": cfg.arms, "seeds": cfg.eval_seeds,
                 "epochs": cfg.epochs, "imgsz": cfg.imgsz, "budget_seed": cfg.budget_seed,
                 "budget_path": cfg.out_dir / "budget.json",
                 "generated": cfg.out_dir / "generated" / "annotations.json",
                 "spec_path": cfg.spec_path, "onto": render_config(cfg)["onto"],  # baselines draw where generation does
                 "experiment": f"defectforge-{cfg.campaign_name}", **cfg.eval_options}  # fmt: skip
    settings = resolve_eval(cfg.dataset, cfg.eval_profile, **overrides).model_dump(mode="json")
    # one evaluation folder per settings: eval refuses a folder that holds other settings
    settings["out_dir"] = str(cfg.out_dir / "eval" / content_hash(settings, 8))
    return settings


def campaign_summary(cfg: CampaignConfig, results: dict[str, Any]) -> dict[str, Any]:
    """The small manifest `defectforge demo` prints: counts, pass rate, paths, the eval report."""
    generation = results["generation"]
    return {
        "campaign": cfg.campaign_name,
        "out_dir": str(cfg.out_dir),
        "images": str(cfg.out_dir / "generated" / "images"),
        "coco": generation["coco"],
        "yolo": results["yolo"],
        "generated": sum(batch["finished"] for batch in results["batches"]),
        "images_in_coco": generation["images_in_coco"],
        "gate_pass_rate": generation["image_pass_rate"],
        "instance_pass_rate": generation["instance_pass_rate"],
        "workers": sorted({batch["worker"] for batch in results["batches"]}),
        "batches": results["batches"],
        "skipped_arms": results["skipped_arms"],
        "evaluation": results["evaluation"],
    }


def run_campaign(cfg: CampaignConfig) -> dict[str, Any]:
    """Run the campaign flow in this process (the CLI's entry point)."""
    return campaign(config=cfg)
