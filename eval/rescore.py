"""Score an evaluation's trained detectors on another split, without training them again.

Settings are chosen on validation images (`score_on: val`: training-split images outside the k
budget, near-copies out) and only then read on the test split. An evaluation scored on the test
split already holds every detector; `rescore` scores each finished run's weights
(`arms/<arm>/seed<s>/detector/train/weights/last.pt`) with COCOeval on the validation images (or
the test split, for an evaluation scored on `val`), and compares the arms as the report does: each
synthetic arm against the stronger real-only run on this split, paired by seed, 95 % t-interval.
Each run's figures are written as they come (`<evaluation>/rescore/<split>.json`, atomically), so
a rerun resumes; nothing else in the evaluation folder changes. When the evaluation has its
report, the figures are also logged to its MLflow run (`rescore_<split>/...` metrics and the JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from conditioning.errors import DefectforgeError
from eval.coco_metrics import CocoMetrics, coco_evaluate
from eval.config import EvalConfig
from eval.detector import predict_coco
from eval.inputs import budget_records, load_data, test_records
from eval.output_folder import SETTINGS
from eval.protocol import RESULT, WEIGHTS
from eval.schedule import is_real_only, stronger_real_only
from eval.stats import Interval, mean_ci, paired_delta
from eval.trainset import export_test
from pipeline.data.atomic import write_json

Split = Literal["val", "test"]
RESCORE_DIR = "rescore"


class RescoredRun(BaseModel):
    arm: str
    seed: int
    coco: CocoMetrics


class ArmRescore(BaseModel):
    """One arm on the split: its mean over seeds, and its delta against `reference` (paired)."""

    arm: str
    seeds: list[int]
    map50_95: Interval
    reference: str | None = None
    delta: Interval | None = None


class Rescore(BaseModel):
    evaluation: str
    split: Split
    images: int
    runs: list[RescoredRun]
    arms: list[ArmRescore] = []


def finished_runs(evaluation: Path) -> list[tuple[str, int, Path]]:
    """(arm, seed, weights) of every run with a result, arms as the folder names them."""
    runs = []
    for result in sorted((evaluation / "arms").glob(f"*/seed*/{RESULT}")):
        folder = result.parent
        seed = folder.name.removeprefix("seed")
        if not seed.isdigit():
            continue
        weights = folder / WEIGHTS
        if not weights.is_file():
            raise DefectforgeError(f"{folder}: the run has its {RESULT} but no weights at {WEIGHTS}; "
                                   "delete the run folder and rerun the evaluation to train it again")
        runs.append((folder.parent.name, int(seed), weights))
    if not runs:
        raise DefectforgeError(f"{evaluation}: no finished run (arms/<arm>/seed<s>/{RESULT}); "
                               "give a folder `defectforge evaluate` trained detectors in")
    return runs


def evaluation_settings(evaluation: Path, split: Split) -> EvalConfig:
    """The evaluation's recorded settings, to be scored on `split`."""
    path = evaluation / SETTINGS
    if not path.is_file():
        raise DefectforgeError(f"{evaluation}: not an evaluation folder (no {SETTINGS}); give the "
                               "folder `defectforge evaluate` wrote (its --out)")
    try:
        recorded = json.loads(path.read_text())
        return EvalConfig.model_validate({**recorded, "arms": ["real"], "seeds": [0],
                                          "score_on": split, "out_dir": evaluation})
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValidationError) as error:
        raise DefectforgeError(f"{path}: unreadable evaluation settings ({str(error).splitlines()[0]}); "
                               "it is written by `defectforge evaluate`: rerun it") from None


def rescore(evaluation: Path, split: Split = "val",
            progress: Callable[[str], None] = lambda _: None) -> Rescore:
    """Every finished run of `evaluation` scored on `split` (figures already in
    `rescore/<split>.json` are kept), then the arms compared."""
    evaluation = evaluation.resolve()
    config = evaluation_settings(evaluation, split)
    runs = finished_runs(evaluation)
    data = load_data(config)
    train, _ = budget_records(data, config, evaluation)
    folder = evaluation / RESCORE_DIR
    records = test_records(data, config, train)
    test = export_test(records, data.categories, folder / split)
    images = len(records)
    out = folder / f"{split}.json"
    done = _earlier(out, split, images)
    for number, (arm, seed, weights) in enumerate(runs, 1):
        if (arm, seed) in done:
            continue
        progress(f"{arm} seed {seed} ({number}/{len(runs)})")
        done[(arm, seed)] = RescoredRun(arm=arm, seed=seed,
                                        coco=coco_evaluate(test.coco_path,
                                                           predict_coco(weights, test, config.detector)))
        write_json(out, _result(evaluation, split, images, done).model_dump(mode="json"))
    return _result(evaluation, split, images, done)


def log_rescore(evaluation: Path, result: Rescore) -> str | None:
    """Each arm's mean (and delta) logged to the evaluation's MLflow parent run, with the JSON;
    returns the run id, or None when the evaluation has no report (so no run) yet."""
    from eval import tracking
    from eval.worth import load_report

    path = evaluation / "report" / "report.json"
    if not path.is_file():
        return None
    report = load_report(path)
    metrics = {}
    for arm in result.arms:
        metrics[f"rescore_{result.split}/{arm.arm}/coco_map50_95"] = arm.map50_95.mean
        if arm.delta is not None:
            metrics[f"rescore_{result.split}/{arm.arm}/delta_coco_map50_95"] = arm.delta.mean
    tracking.log_to_run(report.tracking_uri, report.parent_run_id, metrics,
                        {RESCORE_DIR: evaluation / RESCORE_DIR / f"{result.split}.json"})
    return report.parent_run_id


def _earlier(out: Path, split: Split, images: int) -> dict[tuple[str, int], RescoredRun]:
    """Runs already scored on the same images (a file of other images starts over)."""
    try:
        earlier = Rescore.model_validate_json(out.read_text())
    except (OSError, ValueError):
        return {}
    if earlier.split != split or earlier.images != images:
        return {}
    return {(r.arm, r.seed): r for r in earlier.runs}


def _result(evaluation: Path, split: Split, images: int,
            runs: dict[tuple[str, int], RescoredRun]) -> Rescore:
    ordered = sorted(runs.values(), key=lambda r: (not is_real_only(r.arm), r.arm, r.seed))
    return Rescore(evaluation=str(evaluation), split=split, images=images, runs=ordered,
                   arms=compare_arms(ordered))


def compare_arms(runs: list[RescoredRun]) -> list[ArmRescore]:
    """Each arm's mean, and each synthetic arm against the stronger real-only arm (by mean)."""
    by_arm: dict[str, dict[int, float]] = {}
    for run in runs:
        by_arm.setdefault(run.arm, {})[run.seed] = run.coco.map50_95
    means = {arm: mean_ci(list(values.values())) for arm, values in by_arm.items()}
    reference = stronger_real_only({arm: mean.mean for arm, mean in means.items()})
    out = []
    for arm, values in by_arm.items():
        paired = (reference is not None and not is_real_only(arm)
                  and set(values) & set(by_arm[reference]))
        out.append(ArmRescore(arm=arm, seeds=sorted(values), map50_95=means[arm],
                              reference=reference if paired else None,
                              delta=paired_delta(values, by_arm[reference]) if paired else None))
    return out
