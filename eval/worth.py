"""What an arm's gain is worth in real labelled images.

Real-only detectors trained at several budgets k under one protocol (same dataset, profile,
detector settings and test split) give the curve score(k). An arm trained with k real images
and a synthetic set scores s; the k' at which the real-only curve reaches s, minus k, is the
number of extra real images the synthetic set is worth. Between measured budgets the curve is
interpolated linearly in log k (learning curves are closer to straight there); a larger budget
that scored lower than a smaller one (seed noise) is flattened to it (a running maximum) so
the curve can be inverted. Beyond the measured budgets nothing is extrapolated: the answer is
a bound ("more than 150", "none"). At each budget the curve takes the stronger real-only run
(`real`, or a control: `real-eN` at the arms' steps, `real-twice`), the run every delta is
measured against: a synthetic arm is not credited with what its longer training alone gives.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from conditioning.errors import DefectforgeError
from eval.report import PRIMARY, EvalReport
from eval.schedule import stronger_real_only

COMPARED = ("dataset", "profile", "test_limit", "tile")
"""Settings every report of one curve must share (beside the detector's)."""


class CurvePoint(BaseModel):
    """Real-only score at one budget: mean of the primary metric over its seeds, of the stronger
    real-only run there (`real`, or a control `real-eN` / `real-twice`, trained longer)."""

    k: int
    value: float
    seeds: int
    report: str
    arm: str = "real"


class Worth(BaseModel):
    """One arm's score and the real images it is worth."""

    arm: str
    value: float
    k_equivalent: float | None
    """Budget at which real-only scores `value`; None when outside the measured curve."""
    bound: Literal["within", "below", "above"]
    extra_images: float | None
    """k_equivalent - k (None outside the curve: see `bound`)."""


def load_report(folder: Path) -> EvalReport:
    """The report.json of an evaluation folder (or the file itself), with a located error."""
    path = folder / "report" / "report.json" if folder.is_dir() else folder
    if not path.is_file():
        raise DefectforgeError(f"{path}: no evaluation report here; give the folder an "
                               "`evaluate` run wrote (its --out)")
    try:
        return EvalReport.model_validate_json(path.read_text())
    except ValidationError as error:
        raise DefectforgeError(f"{path}: not an evaluation report ({error.errors()[0]['msg']} at "
                               f"{'.'.join(map(str, error.errors()[0]['loc']))}); run `evaluate` "
                               "again to rewrite it") from None


def _settings(report: EvalReport) -> dict:
    cfg = report.config
    detector = cfg.detector.model_dump(exclude={"device", "workers"})
    return {"dataset": report.dataset, "profile": cfg.profile, "test_limit": cfg.test_limit,
            "tile": cfg.tile, "detector": detector}


def real_curve(reports: dict[str, EvalReport]) -> list[CurvePoint]:
    """Real-only score per budget from reports (file name -> report) of one protocol."""
    names = list(reports)
    first = _settings(reports[names[0]])
    points: dict[int, CurvePoint] = {}
    for name in names:
        report = reports[name]
        differs = [key for key, value in _settings(report).items() if value != first[key]]
        if differs:
            raise DefectforgeError(
                f"{name}: its {', '.join(differs)} differ from {names[0]}'s; a real-only curve "
                "needs every budget trained and tested the same way (rerun it with those settings)")
        if not any(a.arm == "real" for a in report.arms):
            raise DefectforgeError(f"{name}: has no `real` arm; evaluate with --arms real")
        arms = {a.arm: a for a in report.arms}
        real = arms[stronger_real_only({name: a.metrics[PRIMARY].mean for name, a in arms.items()})]
        if report.real_budget in points:
            raise DefectforgeError(f"{name}: budget k={report.real_budget} given twice "
                                   f"(also {points[report.real_budget].report}); keep one")
        points[report.real_budget] = CurvePoint(k=report.real_budget, value=real.metrics[PRIMARY].mean,
                                                seeds=real.metrics[PRIMARY].n, report=name,
                                                arm=real.arm)
    if len(points) < 2:
        raise DefectforgeError("a real-only curve needs at least two budgets k (e.g. the "
                               "evaluation's own k and one real-only evaluation at 2k)")
    return sorted(points.values(), key=lambda p: p.k)


def equivalent_k(curve: list[CurvePoint], value: float) -> tuple[float | None, str]:
    """The budget at which the (running-maximum) real-only curve reaches `value`."""
    ks = [p.k for p in curve]
    values, best = [], -math.inf
    for point in curve:
        best = max(best, point.value)
        values.append(best)
    if value < values[0]:
        return None, "below"
    if value > values[-1]:
        return None, "above"
    for i in range(1, len(curve)):
        if value <= values[i]:
            if values[i] == values[i - 1]:
                return float(ks[i - 1]), "within"
            share = (value - values[i - 1]) / (values[i] - values[i - 1])
            log_k = math.log(ks[i - 1]) + share * (math.log(ks[i]) - math.log(ks[i - 1]))
            return math.exp(log_k), "within"
    return float(ks[0]), "within"


def worth_of_arms(report: EvalReport, curve: list[CurvePoint]) -> list[Worth]:
    """Every synthetic arm of `report` (trained with its k real images) against the curve."""
    if report.real_budget not in {p.k for p in curve}:
        raise DefectforgeError(f"the curve has no point at the evaluation's own k={report.real_budget}")
    out = []
    for arm in report.arms:
        if arm.reference is None:
            continue
        value = arm.metrics[PRIMARY].mean
        k_eq, bound = equivalent_k(curve, value)
        extra = None if k_eq is None else k_eq - report.real_budget
        out.append(Worth(arm=arm.arm, value=value, k_equivalent=k_eq, bound=bound,
                         extra_images=extra))
    return out


def worth_markdown(report: EvalReport, curve: list[CurvePoint], worth: list[Worth]) -> str:
    """The curve and each arm's worth, as the markdown the report folder and README show."""
    k, top = report.real_budget, curve[-1].k
    lines = [
        f"## Worth in real images ({report.dataset}, profile `{report.config.profile}`)",
        "",
        "Real-only COCOeval mAP50-95 by budget (mean over its seeds; at each budget the stronger "
        "real-only run, `real` or a control trained longer, as every delta is measured against):",
        "",
        "| k | real-only mAP50-95 | run | seeds |",
        "|---|---|---|---|",
        *[f"| {p.k} | {p.value:.3f} | `{p.arm}` | {p.seeds} |" for p in curve],
        "",
        f"Each arm trained with k = {k} real images, and the extra real images real-only would "
        f"need to score as high (interpolated in log k between measured budgets):",
        "",
        "| arm | mAP50-95 | worth (real images) |",
        "|---|---|---|",
    ]
    for w in worth:
        if w.bound == "within":
            text = f"{w.extra_images:+.0f} (k = {w.k_equivalent:.0f})"
        elif w.bound == "below":
            text = f"none: below real-only at k = {curve[0].k}"
        else:
            text = f"more than {top - k} (above real-only at k = {top})"
        lines.append(f"| {w.arm} | {w.value:.3f} | {text} |")
    return "\n".join(lines) + "\n"
