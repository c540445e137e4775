"""The comparison protocol: every arm at the same real budget k and the same schedule, several
seeds, scored on the real test split, summarised with intervals and logged to MLflow."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout
from rich.console import Console

from conditioning.errors import DefectforgeError
from conditioning.spec import DefectLibrary, load_library
from eval.arms import ARMS, DRAWN_ARMS, SPEC_ARMS, ArmInputs
from eval.bootstrap import CategoryMatches, bootstrap, coco_matches
from eval.config import EvalConfig
from eval.console import warn
from eval.detector import TestSet, evaluate_detector, predict_coco, train_detector
from eval.epoch_log import EpochRecorder, read_curves
from eval.inputs import EvalData, budget_records, load_data, test_records, write_subset
from eval.leakage import LeakageGuard
from eval.output_folder import claim_output, output_dir
from eval.real_beside import RealArmBeside
from eval.report import (
    PRIMARY,
    EvalReport,
    RunResult,
    mean_primary,
    strongest_rivals,
    summarise_arm,
)
from eval.schedule import (
    ArmSchedule,
    arm_schedule,
    control_schedule,
    is_real_only,
    stronger_real_only,
)
from eval.synthetic import SyntheticSet, load_set, save_set
from eval.train_display import TRAIN_LOG, DetectorRows, detector_worker, output_to
from eval.trainset import export_test, export_train, maybe_tile, train_image_count
from pipeline.data.atomic import write_bytes, write_json
from pipeline.data.coco_reader import read_coco
from pipeline.labels.parity import ParityResult, parity_of_files

RESULT = "result.json"
"""One finished (arm, seed): its scores; present means it is not trained again."""
DETECTIONS = "detections.json"
"""One finished (arm, seed): its COCO detections on the test split (for the bootstrap)."""
SET_MARKER = "set.json"
"""A finished synthetic set (under <arm>/seed<s>/synthetic/); present means it is reused."""
PARITY = "parity.json"
"""The label parity of a synthetic set against the k real images (beside its SET_MARKER)."""
RUN_LOCK = ".training.lock"
"""Held by the process training a run (filelock): one run is never trained twice at once."""
WEIGHTS = Path("detector") / "train" / "weights" / "last.pt"
"""Where a run's final weights lie inside its folder (eval.detector.train_detector)."""
PLANNED_CONTROLS = "controls.json"
"""The names of the real-only controls the evaluation last planned (read by `train_real_arm`)."""


class EventLike(Protocol):
    """A `threading.Event` or a `multiprocessing` one."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class PlannedRun:
    """One detector to train: an arm (or a real-only control) and seed, its training sets (the
    real COCO, and the arm's synthetic COCO; tiled when the profile asks) and schedule."""

    arm: str
    seed: int
    real: Path
    synthetic: Path | None
    schedule: ArmSchedule
    real_images: int
    synthetic_images: int = 0

    @property
    def real_only(self) -> bool:
        return self.synthetic is None


@dataclass
class Context:
    """What every (arm, seed) run shares."""

    config: EvalConfig
    data: EvalData
    out: Path
    train: list
    budget_path: Path
    real_coco: Path
    test: TestSet
    guard: LeakageGuard
    library: DefectLibrary | None
    """The defect spec, loaded once (None: the dataset has none)."""

    @property
    def spec_hash(self) -> str | None:
        return self.library.content_hash if self.library is not None else None


def run_evaluation(config: EvalConfig, *, console: Console | None = None) -> EvalReport:
    """Run every arm x seed, then summarise and report (MLflow + JSON + markdown)."""
    from eval import tracking

    console = console or Console()
    ctx = evaluation_context(config)
    # 4. every arm's synthetic set per seed (the real arm training beside), its schedule, and
    # the real-only controls
    with RealArmBeside(real_arm_beside(ctx), ctx.out) as beside:
        plan = plan_runs(ctx)
        beside.sets_drawn()
        write_json(ctx.out / PLANNED_CONTROLS, control_names(plan))
        report = train_and_report(ctx, plan, console)
    console.print(f"report: {Path(report.report_dir) / 'summary.md'}", soft_wrap=True)
    console.print(f"open it in MLflow: [bold]{tracking.ui_command()}[/]", soft_wrap=True)
    return report


def train_and_report(ctx: Context, plan: list[PlannedRun], console: Console) -> EvalReport:
    """Steps 5-6 of an evaluation: every planned detector under one MLflow parent run, then the
    summary, figures, registry and report files."""
    from eval import tracking
    from eval.publish import publish_report

    config, data = ctx.config, ctx.data
    with tracking.parent_run(config.experiment, f"{data.name}-k{config.real_budget}",
                             parent_params(ctx, plan), evaluation_key(ctx)) as parent:
        rows = {f"{run.arm} seed {run.seed}": run_folder(ctx, run.arm, run.seed) for run in plan}
        reused = {label for label, folder in rows.items() if (folder / RESULT).is_file()}
        # each run logged and matched to the test boxes as it finishes, while the others train
        finished: dict[tuple[str, int], tuple[RunResult, list[CategoryMatches]]] = {}
        with DetectorRows(console, rows, reused):
            for run in train_all(ctx, plan):
                result = log_run(ctx, run)
                finished[run.arm, run.seed] = (result, coco_matches(ctx.test.coco_path,
                                                                    run_detections(ctx, result)))
        report = summarise(ctx, [finished[run.arm, run.seed] for run in plan], parent.info,
                           tracking.tracking_uri())
        return publish_report(report, ctx.data.spec_path)


def real_arm_beside(ctx: Context) -> dict | None:
    """The settings `RealArmBeside` trains the real arm with while the sets are drawn: when the
    evaluation may train more than one detector at once (`jobs`), has a set to draw and a
    real-only run to train; None otherwise."""
    cfg = ctx.config
    drawing = any(not (run_folder(ctx, arm, seed) / "synthetic" / SET_MARKER).is_file()
                  for arm in cfg.arms if arm != "real" for seed in cfg.seeds)
    training = "real" in cfg.arms and any(not (run_folder(ctx, "real", seed) / RESULT).is_file()
                                          for seed in cfg.seeds)
    if cfg.jobs < 2 or not drawing or not training:
        return None
    return cfg.model_copy(update={"out_dir": ctx.out}).model_dump(mode="json")


def evaluation_context(config: EvalConfig) -> Context:
    """Steps 1-3 of an evaluation: its inputs, the leakage guard, the real sets on disk."""
    # 1. inputs: prepared data, the k-image budget, the real test split
    data = load_data(config)
    if "procedural" in config.arms and data.spec_path is None:
        raise DefectforgeError(
            f"dataset {data.name!r} has no defects.yaml: the procedural arm needs a spec "
            "(--spec PATH), or drop it from --arms"
        )
    out = output_dir(config, data.name)
    train, budget_path = budget_records(data, config, out)
    test = test_records(data, config, train)
    # 2. leakage guard: no test image among the k images or their clean references
    allowed = [r.image_path for r in train] + [r.clean_path for r in train if r.clean_path]
    guard = LeakageGuard([r.image_path for r in test], allowed)
    guard.check_no_test(allowed, "real training")
    claim_output(config, out)
    # 3. the real sets on disk, exported once
    return Context(config, data, out, train, budget_path,
                   write_subset(train, data.categories, out / "real" / "annotations.json"),
                   export_test(test, data.categories, out / "test"), guard,
                   load_library(data.spec_path) if data.spec_path is not None else None)


def train_real_arm(config: EvalConfig, evaluation_over: EventLike | None = None,
                   planned_after: float = 0.0, *, stop: EventLike | None = None) -> list[Path]:
    """Train the real-only arm's seeds ahead of the rest of `config`'s evaluation, one detector
    at a time in this process (a campaign runs this beside its generator: these runs need no
    synthetic set). Writes the run folders `run_evaluation` writes, which then reuses them (a
    run still training is waited for, never trained twice); no MLflow runs, no report.

    With `evaluation_over` (an event the caller sets once its evaluation has finished), it then
    waits for that evaluation's plan (`PLANNED_CONTROLS` written after `planned_after`, a
    `time.time()`) and trains the real-only controls no other process has started, last seed
    first (the evaluation's workers take them first seed first): a core that would idle at the
    end trains them. With `stop` (an event), it starts no run once that is set and returns
    (`evaluate` trains the real arm this way while it draws its sets). Returns the run folders it
    trained or found finished."""
    ctx = evaluation_context(config.model_copy(update={"arms": ["real"]}))
    plan = plan_runs(ctx)
    done = []
    for run in plan:
        if stop is not None and stop.is_set():
            return done
        train_one(ctx, run)
        done.append(run_folder(ctx, run.arm, run.seed))
    if evaluation_over is None:
        return done
    names = planned_controls(ctx.out, evaluation_over, planned_after)
    for run in reversed(control_runs(ctx, plan[0].real, plan[0].real_images, names)):
        if train_one(ctx, run, wait=False):
            done.append(run_folder(ctx, run.arm, run.seed))
    return done


def planned_controls(out: Path, evaluation_over: EventLike, planned_after: float) -> list[str]:
    """The control names of the evaluation planned in `out` after `planned_after`, waited for
    until `evaluation_over` is set (then: none)."""
    path = out / PLANNED_CONTROLS
    while not evaluation_over.is_set():
        if path.is_file() and path.stat().st_mtime >= planned_after:
            return json.loads(path.read_text())
        evaluation_over.wait(1.0)
    return []


def plan_runs(ctx: Context) -> list[PlannedRun]:
    """Every (arm, seed) with its synthetic set made (once, reused) and its schedule, then the
    real-only controls those schedules need, for every seed."""
    cfg = ctx.config
    real = maybe_tile(ctx.real_coco, cfg.tile, ctx.out / "real" / f"tiles{cfg.tile}",
                      ctx.data.categories)
    real_images = train_image_count([real])
    plan = []
    for arm in cfg.arms:
        for seed in cfg.seeds:
            folder = run_folder(ctx, arm, seed)
            synthetic = synthetic_set(ctx, arm, seed, folder / "synthetic")
            if synthetic is not None:
                check_parity(ctx, arm, set_parity(ctx, folder / "synthetic", synthetic))
            tiles = None if synthetic is None else maybe_tile(
                synthetic.coco_path, cfg.tile, folder / f"tiles{cfg.tile}", ctx.data.categories)
            synthetic_images = train_image_count([tiles]) if tiles else 0
            schedule = arm_schedule(cfg.detector, cfg.schedule, real_images, synthetic_images)
            plan.append(PlannedRun(arm, seed, real, tiles, schedule, real_images, synthetic_images))
    return plan + control_runs(ctx, real, real_images, control_names(plan))


def control_names(plan: list[PlannedRun]) -> list[str]:
    """The real-only controls the plan's schedules need."""
    return sorted({name for r in plan for name in r.schedule.controls})


def control_runs(ctx: Context, real: Path, real_images: int, names: list[str]) -> list[PlannedRun]:
    """The real-only controls `names`, for every seed."""
    return [PlannedRun(name, seed, real, None, control_schedule(ctx.config.detector, name),
                       real_images)
            for name in names for seed in ctx.config.seeds]


def set_parity(ctx: Context, folder: Path, synthetic: SyntheticSet) -> ParityResult:
    """The synthetic set's label parity against the k real images (computed once, kept)."""
    path = folder / PARITY
    if path.is_file():
        return ParityResult.model_validate_json(path.read_text())
    polarity = ctx.library.foreground if ctx.library is not None else "auto"
    result = parity_of_files(ctx.real_coco, synthetic.coco_path, polarity)
    write_bytes(path, result.model_dump_json(indent=1).encode())
    return result


def check_parity(ctx: Context, arm: str, result: ParityResult) -> None:
    """A loud warning when an arm's labels are out of tolerance; a refusal with `strict`."""
    if result.ok:
        return
    problems = "; ".join(result.problems)
    if ctx.config.strict:
        raise DefectforgeError(
            f"{arm} arm: its synthetic labels are out of tolerance of the k real images "
            f"({problems}); fix the arm or its spec (`defectforge data parity` shows the table), "
            "or run without --strict to train anyway"
        )
    warn(f"{arm} arm: labels out of tolerance of the real ones: {problems}")


def parent_params(ctx: Context, plan: list[PlannedRun]) -> dict:
    cfg = ctx.config
    return {
        "dataset": ctx.data.name, "k": cfg.real_budget, "ratio": cfg.ratio, "seeds": cfg.seeds,
        "arms": cfg.arms, "controls": sorted({r.arm for r in plan} - set(cfg.arms)), "profile": cfg.profile, "schedule": cfg.schedule, "tile": cfg.tile,
        "test_limit": cfg.test_limit,
        "test_images": len(read_coco(ctx.test.coco_path)), "budget": ctx.budget_path.name,
        "spec_hash": ctx.spec_hash, "detector": cfg.detector.model_dump_json(),
        "onto": cfg.onto, "transform_synthetic": cfg.transform_synthetic,
    }


def evaluation_key(ctx: Context) -> str:
    """Same output folder (same settings), arms and seeds: the same evaluation, whose MLflow
    runs a rerun updates."""
    text = json.dumps([str(ctx.out), ctx.config.arms, ctx.config.seeds])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_folder(ctx: Context, arm: str, seed: int) -> Path:
    return ctx.out / "arms" / arm / f"seed{seed}"


def train_all(ctx: Context, plan: list[PlannedRun]) -> Iterator[PlannedRun]:
    """Train and score every planned run without a result.json; `jobs` of them at once, each in
    a spawned process (CUDA-safe; their output goes to log files, so this process's terminal
    shows only the progress rows). Longest first (by optimizer steps), so the short real-only
    controls fill the gaps at the end instead of one core finishing alone. Yields each planned
    run once it has its result: the finished ones at once, the others as they finish."""
    def has_result(run: PlannedRun) -> bool:
        return (run_folder(ctx, run.arm, run.seed) / RESULT).is_file()

    yield from (run for run in plan if has_result(run))
    # a run pre-trained on the real images last: it fine-tunes the `real` run's weights, so it
    # waits for that run
    pending = sorted((run for run in plan if not has_result(run)),
                     key=lambda run: (run.schedule.pretrain_on_real,
                                      -run.schedule.steps(run.real_images, run.synthetic_images)))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=ctx.config.jobs, mp_context=context,
                             initializer=detector_worker, initargs=(str(ctx.out / "logs"),)) as pool:
        futures = {pool.submit(train_one, ctx, run): run for run in pending}
        for future in as_completed(futures):
            future.result()
            yield futures[future]


def train_one(ctx: Context, run: PlannedRun, *, wait: bool = True) -> bool:
    """One planned run: train, score on the real test split, result.json; everything it
    prints goes to the run's train.log. Holds the run's lock file while it works: another
    process on the same folder (`train_real_arm` beside the evaluation) waits, then finds the
    result and trains nothing; with `wait=False` it leaves the run to that process instead.
    Returns whether the run has its result."""
    folder = run_folder(ctx, run.arm, run.seed)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        held = FileLock(folder / RUN_LOCK, blocking=wait).acquire()
    except Timeout:
        return False
    with held:
        if not (folder / RESULT).is_file():
            with output_to(folder / TRAIN_LOG):
                synthetic = None if run.real_only else load_set(folder / "synthetic" / SET_MARKER)
                result, detections = train_and_score(ctx, run, folder, synthetic)
            write_json(folder / DETECTIONS, detections)
            write_bytes(folder / RESULT, result.model_dump_json(indent=1).encode())
    return True


def log_run(ctx: Context, run: PlannedRun) -> RunResult:
    """The nested MLflow run of one finished planned run."""
    from eval import tracking

    arm, seed = run.arm, run.seed
    folder = run_folder(ctx, arm, seed)
    result = RunResult.model_validate_json((folder / RESULT).read_text())
    synthetic = load_set(folder / "synthetic" / SET_MARKER)
    result.run_id = tracking.log_nested_run(
        f"{arm}-seed{seed}",
        {"arm": arm, "seed": seed, "real_images": result.real_images,
         "synthetic_images": result.synthetic_images, "epochs": result.epochs,
         "steps": result.steps, "generator_revision": result.generator_revision},
        run_metrics(result),
        {"weights": Path(result.weights),
         "synthetic": synthetic.coco_path if synthetic else None,
         "logs": folder / TRAIN_LOG},
        read_curves(folder),
    )
    return result


def synthetic_set(ctx: Context, arm: str, seed: int, folder: Path) -> SyntheticSet | None:
    """The arm's synthetic set (made once, reused), checked by the leakage guard; None for
    real-only."""
    if arm == "real":
        return None
    marker = folder / SET_MARKER
    synthetic = load_set(marker)
    current = ctx.spec_hash if arm in SPEC_ARMS else None
    if synthetic is not None and synthetic.spec_hash != current:
        raise DefectforgeError(
            f"{folder.parent}: the {arm} arm's set was drawn from defect spec {synthetic.spec_hash}, "
            f"but {ctx.data.spec_path} is now {current}; delete {folder.parent} (its detector was "
            "trained on the old set) or pass another --out"
        )
    if synthetic is None:
        cfg = ctx.config
        synthetic = ARMS[arm](ArmInputs(
            dataset=ctx.data.name, train=ctx.train, categories=ctx.data.categories,
            out_dir=folder, seed=seed, ratio=cfg.ratio, spec_path=ctx.data.spec_path,
            generated=cfg.generated, generator_model=cfg.generator_model,
            budget_path=ctx.budget_path, onto=cfg.onto,
        ))
        if cfg.transform_synthetic and arm in DRAWN_ARMS:
            from eval.augment import transform_set

            synthetic = transform_set(synthetic, folder / "transformed", ctx.data.categories, seed)
        ctx.guard.check_inputs(synthetic.inputs, f"{arm} arm")
        ctx.guard.check_no_test([r.image_path for r in read_coco(synthetic.coco_path)],
                                f"{arm} synthetic")
        synthetic.spec_hash = current
        save_set(synthetic, marker)
    return synthetic


def train_and_score(ctx: Context, run: PlannedRun, folder: Path,
                    synthetic: SyntheticSet | None) -> tuple[RunResult, list[dict]]:
    cfg = ctx.config
    schedule = run.schedule
    start = time.perf_counter()
    detector = schedule.detector
    if schedule.pretrain_on_real:
        detector = detector.model_copy(update={"model": str(real_weights(ctx, run))})
    elif schedule.pretrain is not None:
        pretrain_yaml = export_train([run.synthetic], ctx.data.categories, folder / "pretrain")
        weights = train_detector(pretrain_yaml, folder / "pretrain" / "detector", schedule.pretrain,
                                 run.seed, EpochRecorder(folder / "pretrain",
                                                         f"{run.arm} seed {run.seed} pre-training"))
        detector = detector.model_copy(update={"model": str(weights)})
    final = [run.real] * schedule.real_repeats
    if run.synthetic is not None and schedule.pretrain is None:
        final.append(run.synthetic)
    data_yaml = export_train(final, ctx.data.categories, folder)
    weights = train_detector(data_yaml, folder / "detector", detector, run.seed,
                             EpochRecorder(folder, f"{run.arm} seed {run.seed}"))
    seconds = time.perf_counter() - start
    metrics, detections = evaluate_detector(weights, ctx.test, folder / "detector", cfg.detector,
                                            deeppcb=ctx.data.is_deeppcb)
    return RunResult(
        arm=run.arm, seed=run.seed, metrics=metrics, weights=str(weights), train_seconds=seconds,
        real_images=len(ctx.train),
        synthetic_images=synthetic.count if synthetic else 0,
        gate_pass_rate=synthetic.gate_pass_rate if synthetic else None,
        generator_revision=synthetic.generator_revision if synthetic else None,
        train_images=run.real_images + run.synthetic_images, epochs=schedule.detector.epochs,
        steps=schedule.steps(run.real_images, run.synthetic_images),
    ), detections


def real_weights(ctx: Context, run: PlannedRun) -> Path:
    """The weights of the `real` run of `run`'s seed (the first stage of `real-twice`): trained
    now if no process has, waited for if one is training it."""
    real = PlannedRun("real", run.seed, run.real, None, ArmSchedule(run.schedule.pretrain),
                      run.real_images)
    train_one(ctx, real)
    return run_folder(ctx, "real", run.seed) / WEIGHTS


def run_metrics(result: RunResult) -> dict[str, float]:
    m = result.metrics
    metrics = {"map50": m.map50, "map50_95": m.map50_95, "coco_map50": m.coco.map50,
               "coco_map50_95": m.coco.map50_95, "train_seconds": result.train_seconds,
               "synthetic_images": float(result.synthetic_images)}
    metrics.update({f"ap50/{k}": v for k, v in m.per_class_ap50.items()})
    metrics.update({f"ap50_95/{k}": v for k, v in m.per_class_ap50_95.items()})
    metrics.update({f"coco_ap50_95/{k}": v for k, v in m.coco.per_class_ap50_95.items()})
    if m.deeppcb is not None:
        metrics.update({f"deeppcb_{k}": v for k, v in m.deeppcb.model_dump().items()})
    if result.gate_pass_rate is not None:
        metrics["gate_pass_rate"] = result.gate_pass_rate
    return metrics


def summarise(ctx: Context, scored: list[tuple[RunResult, list[CategoryMatches]]], parent,
              uri: str) -> EvalReport:
    """Per-arm intervals, and each synthetic arm's seed-paired delta against the stronger
    real-only run: the full-epoch one or its control at the arm's epochs (by the primary metric).
    `scored`: every run's result with its detections matched to the test boxes."""
    by_arm: dict[str, list[RunResult]] = {}
    matches: dict[str, list[list[CategoryMatches]]] = {}
    for run, run_matches in scored:
        by_arm.setdefault(run.arm, []).append(run)
        matches.setdefault(run.arm, []).append(run_matches)
    runs = [run for run, _ in scored]
    reference = stronger_reference(by_arm)
    references = {arm: reference for arm in by_arm if arm in ctx.config.arms and arm != "real"}
    rivals = strongest_rivals(by_arm, [arm for arm in ctx.config.arms if not is_real_only(arm)])
    over_test = bootstrap(matches, references, rivals=rivals)
    arms = [summarise_arm(arm, rs, by_arm[references.get(arm, "real")], over_test[arm],
                          references.get(arm),
                          (rivals[arm], by_arm[rivals[arm]]) if arm in rivals else None)
            for arm, rs in by_arm.items()]
    best = max(arms, key=lambda a: a.metrics[PRIMARY].mean)
    best_run = max(by_arm[best.arm], key=lambda r: r.value(PRIMARY))
    parity = {arm: ParityResult.model_validate_json(path.read_text()) for arm in ctx.config.arms
              if (path := run_folder(ctx, arm, ctx.config.seeds[0]) / "synthetic" / PARITY)
              .is_file()}
    return EvalReport(
        config=ctx.config, dataset=ctx.data.name, real_budget=ctx.config.real_budget,
        spec_hash=ctx.spec_hash, tracking_uri=uri,
        experiment_id=parent.experiment_id, parent_run_id=parent.run_id, arms=arms, runs=runs,
        best_arm=best.arm, best_run_id=best_run.run_id, report_dir=str(ctx.out / "report"),
        parity=parity,
    )


def stronger_reference(by_arm: dict[str, list[RunResult]]) -> str:
    """The strongest real-only run: `real` or one of its controls (mean over seeds of the primary
    metric); a delta against a weaker one would flatter the synthetic arms."""
    return stronger_real_only({arm: mean_primary(runs) for arm, runs in by_arm.items()})


def run_detections(ctx: Context, run: RunResult) -> list[dict]:
    """A run's saved test detections; results from before they were saved are predicted
    again from the run's weights (and saved)."""
    path = run_folder(ctx, run.arm, run.seed) / DETECTIONS
    if not path.is_file():
        write_json(path, predict_coco(Path(run.weights), ctx.test, ctx.config.detector))
    return json.loads(path.read_text())
