"""The evaluation report: per-run results, per-arm intervals and deltas, and its markdown."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from eval.config import EvalConfig
from eval.detector import DetectorMetrics
from eval.stats import SEEDS_AT_MOST, Interval, mean_ci, paired_delta, seeds_to_exclude_zero
from pipeline.data.atomic import write_bytes
from pipeline.labels.parity import ParityResult, parity_markdown

LEARNED_MAP50 = 0.05
"""Below this mAP50 for every arm, no detector learned anything worth comparing."""
METRICS = ("map50", "map50_95", "coco_map50", "coco_map50_95")
"""Metrics summarised per arm (ultralytics' and pycocotools' mAP)."""
PRIMARY = "coco_map50_95"
"""The one figure verdicts, deltas and the best arm use: pycocotools COCOeval mAP50-95 of the
detector's predictions on the real test COCO file (the field's standard). ultralytics' own
validator figures are reported beside it, but they can disagree on the sign of a delta (see
eval/metric_audit.py and the README)."""


class RunResult(BaseModel):
    """One detector: an arm trained with one seed, and its scores on the real test split."""

    arm: str
    seed: int
    run_id: str | None = None
    metrics: DetectorMetrics
    weights: str
    real_images: int
    synthetic_images: int
    train_images: int
    epochs: int | None = None
    """Epochs this run trained (None: a result from before the schedule was recorded)."""
    steps: int | None = None
    """Batches it trained on, epochs x batches per epoch (None: from before steps were recorded)."""
    gate_pass_rate: float | None = None
    generator_revision: str | None = None
    train_seconds: float

    def value(self, metric: str) -> float:
        if metric.startswith("coco_"):
            return getattr(self.metrics.coco, metric.removeprefix("coco_"))
        return getattr(self.metrics, metric)


class ArmSummary(BaseModel):
    """Mean and 95 % CI per metric over seeds, the seed-paired delta vs real-only, per class."""

    arm: str
    seeds: list[int]
    metrics: dict[str, Interval]
    delta: dict[str, Interval]
    per_class_ap50: dict[str, float]
    per_class_ap50_95: dict[str, float]
    deeppcb: dict[str, Interval] | None = None
    over_test: dict[str, Interval] = {}
    """COCO mAP50 / mAP50-95 (mean over seeds) and their deltas vs real-only, with a 95 %
    bootstrap interval over the test images (eval.bootstrap; draws paired across arms)."""
    synthetic_images: int
    epochs: int | None = None
    steps: int | None = None
    reference: str | None = None
    """The real-only run the deltas are against: the strongest of `real` and its controls
    (`real-e140`, ..., `real-twice`); None for real-only runs themselves."""
    gate_pass_rate: float | None = None
    rival: str | None = None
    """The strongest other synthetic arm (mean primary figure over seeds), when the evaluation
    ran two or more: the cheaper way to the same data this arm must beat."""
    rival_delta: Interval | None = None
    """The primary figure's delta against `rival`, paired by seed (over the test images:
    `over_test["rival_delta_coco_map50_95"]`)."""


class EvalReport(BaseModel):
    """Everything one evaluation measured, and where it is in MLflow."""

    config: EvalConfig
    dataset: str
    real_budget: int
    spec_hash: str | None
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    arms: list[ArmSummary]
    runs: list[RunResult]
    best_arm: str
    best_run_id: str | None
    registered_model: str | None = None
    report_dir: str
    parity: dict[str, ParityResult] = {}
    """Per synthetic arm: the label parity of its first seed's set against the k real images."""

    def arm(self, name: str) -> ArmSummary:
        return next(a for a in self.arms if a.arm == name)

    def save(self, path: Path) -> Path:
        return write_bytes(path, (self.model_dump_json(indent=1) + "\n").encode())


def summarise_arm(arm: str, runs: list[RunResult], reference: list[RunResult],
                  over_test: dict[str, Interval], reference_name: str | None = None,
                  rival: tuple[str, list[RunResult]] | None = None) -> ArmSummary:
    """Intervals over the arm's seeds and deltas paired by seed with the reference runs
    (`reference_name`; None for a real-only arm) and with the `rival` arm's runs (name, runs);
    `over_test` holds the bootstrap intervals over the test images."""
    metrics = {m: mean_ci([r.value(m) for r in runs]) for m in METRICS}
    delta = {
        m: paired_delta({r.seed: r.value(m) for r in runs}, {r.seed: r.value(m) for r in reference})
        for m in METRICS
    }
    deeppcb = None
    if all(r.metrics.deeppcb is not None for r in runs):
        keys = ("precision", "recall", "fscore", "map33")
        deeppcb = {k: mean_ci([getattr(r.metrics.deeppcb, k) for r in runs]) for k in keys}
    return ArmSummary(
        arm=arm,
        seeds=[r.seed for r in runs],
        metrics=metrics,
        delta=delta,
        per_class_ap50=_class_means([r.metrics.per_class_ap50 for r in runs]),
        per_class_ap50_95=_class_means([r.metrics.per_class_ap50_95 for r in runs]),
        deeppcb=deeppcb,
        over_test=over_test,
        synthetic_images=max(r.synthetic_images for r in runs),
        epochs=runs[0].epochs,
        steps=runs[0].steps,
        reference=reference_name,
        gate_pass_rate=runs[0].gate_pass_rate,
        rival=rival[0] if rival else None,
        rival_delta=paired_delta({r.seed: r.value(PRIMARY) for r in runs},
                                 {r.seed: r.value(PRIMARY) for r in rival[1]}) if rival else None,
    )


def mean_primary(runs: list[RunResult]) -> float:
    """The primary figure's mean over an arm's seeds (what ranks arms)."""
    return sum(r.value(PRIMARY) for r in runs) / len(runs)


def strongest_rivals(by_arm: dict[str, list[RunResult]], synthetic: list[str]) -> dict[str, str]:
    """Each of the `synthetic` arms (two or more) -> the strongest of the others, by the mean
    primary figure over seeds."""
    means = {arm: mean_primary(by_arm[arm]) for arm in synthetic}
    if len(means) < 2:
        return {}
    return {arm: max((a for a in means if a != arm), key=means.get) for arm in means}


def _class_means(tables: list[dict[str, float]]) -> dict[str, float]:
    names = sorted({n for t in tables for n in t})
    return {n: sum(t.get(n, 0.0) for t in tables) / len(tables) for n in names}


def fmt_interval(interval: Interval, sign: str = "") -> str:
    """`mean [low, high]`, or the mean alone for a single value."""
    if interval.n == 1:
        return f"{interval.mean:{sign}.3f}"
    return f"{interval.mean:{sign}.3f} [{interval.low:{sign}.3f}, {interval.high:{sign}.3f}]"


SCHEDULE_WORDS = {
    "steps": "the same optimizer steps for every arm",
    "epochs": "every arm",
    "oversample": "synthetic arms with their real images repeated to at least half of the mix, "
                  "each seen as often as in real-only",
    "synthetic-first": "synthetic arms pre-trained on their synthetic set, then fine-tuned on the "
                       "real images for as many epochs",
}
"""How the report's first line words each schedule (eval/schedule.py)."""
SCORED_ON = {
    "test": "the real test split",
    "val": "real validation images (training-split images outside the k budget; the test split "
           "is left unseen, for choosing settings)",
}
SCORED_IMAGES = {"test": "test images", "val": "validation images"}
"""What the bootstrap draws from, in the words of the report."""


def summary_markdown(report: EvalReport, parity_tables: bool = True) -> str:
    """The page a reviewer reads first: the question, the table, the verdict, label parity
    (every table, or with `parity_tables=False` one line per arm: MLflow cuts a run
    description at 8,000 characters)."""
    cfg = report.config
    lines = [
        f"# Detector retraining on `{report.dataset}`: does synthetic data help?",
        "",
        f"k = {report.real_budget} real training images for every arm, "
        f"synthetic:real ratio {cfg.ratio}, seeds {cfg.seeds}, profile `{cfg.profile}` "
        f"({cfg.detector.model}, {cfg.detector.epochs} epochs for real-only and "
        f"{SCHEDULE_WORDS[cfg.schedule]}"
        f", trained at {cfg.detector.imgsz} px"
        f"{f' on {cfg.tile} px tiles' if cfg.tile else ''}, tested at {cfg.detector.val_imgsz} px"
        f"{f', {cfg.test_limit} of its images' if cfg.test_limit else ''})"
        f"{'; drawn sets passed through the augment transform' if cfg.transform_synthetic else ''}.",
        f"Primary figure: COCOeval mAP50-95 on {SCORED_ON[cfg.score_on]}. "
        "Each synthetic arm is compared "
        "with the strongest real-only run: full epochs (`real`) or a control trained for the "
        "arm's passes over the real images or its optimizer steps (`real-eN`: N epochs), or, for a "
        "`synthetic-first` arm, `real` fine-tuned once more on the real images (`real-twice`). "
        "Intervals: 95 % t-interval "
        f"over seeds (deltas paired by seed); [boot]: 95 % bootstrap over the {SCORED_IMAGES[cfg.score_on]} (draws "
        "paired across arms). ultralytics' own mAP is shown for reference only.",
        "",
        "| arm | epochs | steps | COCOeval mAP50-95 | Δ vs reference | reference "
        "| Δ [boot] | COCOeval mAP50 | ultralytics mAP50 / mAP50-95 | synthetic |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for a in report.arms:
        m, test = a.metrics, a.over_test
        delta = "—" if a.reference is None else fmt_interval(a.delta[PRIMARY], "+")
        boot = (fmt_interval(test[f"delta_{PRIMARY}"], "+") if f"delta_{PRIMARY}" in test
                else "—")
        lines.append(
            f"| {a.arm} | {a.epochs or '—'} | {a.steps or '—'} | {fmt_interval(m[PRIMARY])} "
            f"| {delta} | {a.reference or '—'} | {boot} | {fmt_interval(m['coco_map50'])} "
            f"| {m['map50'].mean:.3f} / {m['map50_95'].mean:.3f} | {a.synthetic_images} |"
        )
    lines += ["", verdict(report), "", f"Best arm: **{report.best_arm}**"
              + (f" (registered as `{report.registered_model}`)." if report.registered_model else ".")]
    lines += rivals_markdown(report)
    if parity_tables:
        for arm, parity in report.parity.items():
            lines += ["", f"## Label parity: {arm}", "", parity_markdown(parity).rstrip()]
    elif report.parity:
        lines += ["", "Label parity against the k real images (tables: `report/summary.md`):", "",
                  "| arm | label parity |", "|---|---|"]
        lines += [f"| {arm} | {'within tolerance' if p.ok else '; '.join(p.problems)} |"
                  for arm, p in report.parity.items()]
    if any(a.deeppcb for a in report.arms):
        lines += ["", "DeepPCB metric (IoU > 0.33, same class):", "",
                  "| arm | precision | recall | F-score | mAP@0.33 |", "|---|---|---|---|---|"]
        for a in report.arms:
            if a.deeppcb:
                p = a.deeppcb
                lines.append(f"| {a.arm} | {fmt_interval(p['precision'])} | {fmt_interval(p['recall'])} "
                             f"| {fmt_interval(p['fscore'])} | {fmt_interval(p['map33'])} |")
    return "\n".join(lines) + "\n"


def rivals_markdown(report: EvalReport) -> list[str]:
    """The synthetic arms against each other: each against the strongest other one (none when
    one synthetic arm ran)."""
    rows = [a for a in report.arms if a.rival and a.rival_delta]
    if not rows:
        return []
    images = SCORED_IMAGES[report.config.score_on]
    lines = ["", "## Synthetic arms against each other", "",
             "Each synthetic arm against the strongest other one (COCOeval mAP50-95, deltas "
             f"paired by seed; [boot]: over the {images}).", "",
             "| arm | against | Δ | Δ [boot] | verdict |", "|---|---|---|---|---|"]
    for a in rows:
        d, boot = a.rival_delta, a.over_test.get(f"rival_delta_{PRIMARY}")
        lines.append(f"| {a.arm} | {a.rival} | {fmt_interval(d, '+')} "
                     f"| {fmt_interval(boot, '+') if boot else '—'} | {_rival_verdict(d, boot)} |")
    return lines


def _rival_verdict(seeds: Interval, images: Interval | None) -> str:
    """Above, below or level with the rival: by the seed interval, by the bootstrap over the
    images with one seed."""
    interval = seeds if seeds.n > 1 or images is None else images
    if interval.n == 1:
        return "one seed, no interval"
    if interval.low > 0:
        return "better (CI above 0)" + (" on these images, one seed" if interval is images else "")
    if interval.high < 0:
        return "worse (CI below 0)" + (" on these images, one seed" if interval is images else "")
    return "not distinguishable (CI spans 0)"


def verdict(report: EvalReport) -> str:
    """One sentence per synthetic arm: better, worse or not distinguishable from real-only
    (by the seed interval; with one seed, by the bootstrap over the scored images). When no arm's
    detector learned to detect at all, that is the verdict: such runs cannot rank arms."""
    best = max(a.metrics["map50"].mean for a in report.arms)
    if best < LEARNED_MAP50:
        return (f"- No detector learned to detect: the best arm's mAP50 is {best:.3f} "
                f"(< {LEARNED_MAP50}), so this run cannot rank the arms. Train longer (more "
                "--epochs, or the `full` profile on a GPU).")
    out = []
    for a in report.arms:
        if a.reference is None:
            continue
        d = a.delta[PRIMARY]
        against = f"the stronger real-only run (`{a.reference}`)"
        if d.n == 1:
            out.append(f"- {a.arm}: {d.mean:+.3f} COCOeval mAP50-95 vs {against}; "
                       + _test_verdict(a, SCORED_IMAGES[report.config.score_on]))
        elif d.low > 0:
            out.append(f"- {a.arm}: better than {against} ({d.mean:+.3f} COCOeval mAP50-95, "
                       "CI above 0).")
        elif d.high < 0:
            out.append(f"- {a.arm}: worse than {against} ({d.mean:+.3f} COCOeval mAP50-95, "
                       "CI below 0).")
        else:
            out.append(f"- {a.arm}: not distinguishable from {against} ({d.mean:+.3f} COCOeval "
                       f"mAP50-95, CI spans 0{_seeds_needed(d)}).")
    return "\n".join(out) if out else "Only the real-only arm was run."


def _seeds_needed(delta: Interval) -> str:
    """How many seeds would resolve a delta whose interval spans 0, if it held (an estimate)."""
    if delta.mean == 0:
        return ""
    seeds = seeds_to_exclude_zero(delta)
    if seeds is None:
        return f"; at this mean and seed-to-seed spread even {SEEDS_AT_MOST} seeds would not resolve it"
    side = "above" if delta.mean > 0 else "below"
    return (f"; at this mean and seed-to-seed spread about {seeds} seeds would put it {side} 0, "
            "an estimate since each new seed moves both")


def _test_verdict(arm: ArmSummary, images: str) -> str:
    """One seed: what the bootstrap over the scored `images` says (seed spread is not covered)."""
    d = arm.over_test.get(f"delta_{PRIMARY}")
    if d is None:
        return "one seed, no interval."
    where = ("above 0: better" if d.low > 0 else "below 0: worse" if d.high < 0
             else "spans 0: not distinguishable")
    return (f"COCOeval delta {d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}] over {images} {where} "
            f"on these {images} (one training seed: seed-to-seed spread not covered).")
