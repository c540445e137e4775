"""Label parity: do a synthetic set's labels look like the k real images' labels?

Per class: box width and height, box-vs-mask margin per side, mask area and elongation, the
surface the masks lie on (share on the spec's foreground in the clean reference), the context
around them (foreground share in the label box), the width of their surface next to them (the
trace an open cuts, the gap a short bridges) and the visible change (share of mask pixels
that differ from the clean reference); over the set: instances per image and the class mix.
Each compared figure has one documented tolerance (`Tolerances`); a row out of it is a problem,
with a hint at the usual cause. A detector trained on a set out of parity learns the label
style, not the defects (tight boxes against loose ones: DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from scipy.stats import ks_2samp

from pipeline.data.coco_reader import read_coco
from pipeline.labels.measure import SetStats, measure_set
from pipeline.labels.tolerances import TOLERANCES, Tolerances

SIDES = ("left", "top", "right", "bottom")
ALL = "(all)"
"""The class column of set-wide rows (instances per image, class mix)."""
MIX_DISTANCE = "class mix (TV distance)"


HINTS = {
    "box": "box sizes differ: draw synthetic boxes in the learned annotation style "
    "(pipeline.labels.style) and check the spec's shape ranges",
    "margin": "synthetic boxes sit tighter or looser on their masks than the real ones: draw "
    "them with the learned annotation style (pipeline.labels.style.box_for)",
    "mask": "defect shapes differ from the real ones: check the spec's shape ranges",
    "visible": "labels cover pixels that did not change: label what changed against the clean "
    "reference (strict gate)",
    "invisible": "labels on defects that hardly show (wrong surface or a faint draw): label what "
    "changed against the clean reference and check the spec's polarity",
    "surface": "defects land on another surface than the real ones: check `foreground:` and "
    "`placement.surface` (`defectforge spec check --dataset NAME`)",
    "width": "defects sit on wider or narrower traces (or gaps) than the real ones: check the "
    "kind's anchor rule and `placement.context`, or restrict it with `placement.regions`",
    "context": "defects sit in other surroundings than the real ones (more or less foreground "
    "in their boxes): set `placement.context` (`defectforge spec fit` measures its range), or "
    "narrow it towards the real median",
    "instances": "a different number of defects per image: check the spec's `count` and "
    "`min_per_image` / `max_per_image`",
    "class": "a different class mix: check the spec's `count` per defect and the gate's "
    "rejections per class",
}


class ParityRow(BaseModel):
    """One compared figure: real and synthetic values (medians unless the statistic says
    otherwise) with their p5-p95 range where it has one; ok None = not compared (n/a)."""

    statistic: str
    class_name: str
    real: float | None
    synthetic: float | None
    real_range: tuple[float, float] | None = None
    synthetic_range: tuple[float, float] | None = None
    tolerance: str
    ok: bool | None


class ParityResult(BaseModel):
    """Every row, whether all compared rows are within tolerance, and the problems in words."""

    real_images: int
    synthetic_images: int
    polarity: str
    rows: list[ParityRow]
    ok: bool
    problems: list[str]


def parity_of_files(real: str | Path, synthetic: str | Path, polarity: str = "auto",
                    tolerances: Tolerances = TOLERANCES) -> ParityResult:
    """`compare_sets` of two COCO files (images and clean references as their records name)."""
    return compare_sets(measure_set(read_coco(real), polarity),
                        measure_set(read_coco(synthetic), polarity), tolerances)


def compare_sets(real: SetStats, synthetic: SetStats,
                 tolerances: Tolerances = TOLERANCES) -> ParityResult:
    """Compare the label statistics of a synthetic set with the real one's."""
    rows: list[ParityRow] = []
    for name in [*real.classes, *(c for c in synthetic.classes if c not in real.classes)]:
        rows += _class_rows(name, real, synthetic, tolerances)
    rows += _set_rows(real, synthetic, tolerances)
    problems = [_problem(row) for row in rows if row.ok is False]
    return ParityResult(real_images=len(real.per_image), synthetic_images=len(synthetic.per_image),
                        polarity=real.polarity, rows=rows, ok=not problems, problems=problems)


def _class_rows(name: str, real: SetStats, synthetic: SetStats, tol: Tolerances) -> list[ParityRow]:
    r, s = real.classes.get(name), synthetic.classes.get(name)
    if r is None or s is None or min(r.count, s.count) < tol.min_instances:
        counts = f"{r.count if r else 0} real, {s.count if s else 0} synthetic instances"
        return [ParityRow(statistic="instances", class_name=name, real=r.count if r else 0,
                          synthetic=s.count if s else 0, tolerance=f"n/a: {counts} "
                          f"(< {tol.min_instances})", ok=None)]
    rows = [_ratio(name, "box width (px)", r.box_w, s.box_w, tol.box_size_ratio),
            _ratio(name, "box height (px)", r.box_h, s.box_h, tol.box_size_ratio)]
    for index, side in enumerate(SIDES):
        rows.append(_margin(name, side, [m[index] for m in r.margins],
                            [m[index] for m in s.margins], tol))
    rows += [_ratio(name, "mask area (px²)", r.area, s.area, tol.area_ratio),
             _ratio(name, "mask elongation", r.elongation, s.elongation, tol.elongation_ratio)]
    rows.append(_row(name, "visible change", r.visible, s.visible,
                     f">= {tol.visible_fraction:g} x real",
                     lambda a, b: b >= tol.visible_fraction * a))
    rows.append(_invisible(name, r.visible, s.visible, tol))
    share_r, share_s = r.foreground_share, s.foreground_share
    compared = share_r is not None and share_s is not None
    rows.append(ParityRow(
        statistic=f"surface (foreground: {real.polarity})", class_name=name, real=share_r,
        synthetic=share_s, ok=abs(share_s - share_r) <= tol.surface_abs if compared else None,
        tolerance=f"±{tol.surface_abs:g}" if compared else "n/a: no clean reference"))
    rows.append(_context(name, r.context, s.context, tol))
    rows.append(_ratio(name, "width of its surface (px)", r.surface_width, s.surface_width,
                       tol.surface_width_ratio))
    return rows


def _context(name: str, real: list[float], synthetic: list[float], tol: Tolerances) -> ParityRow:
    """Foreground share in the label box: medians shown, distributions compared (a spec can put
    the median right and still draw a tail the real defects never show); a distance the
    two-sample test cannot tell from chance (a few instances) is not a problem."""
    statistic = "context (foreground share in the box)"
    if not real or not synthetic:
        return _row(name, statistic, real, synthetic, "", lambda a, b: True)
    test = ks_2samp(real, synthetic)
    apart = test.statistic > tol.context_ks and test.pvalue < tol.context_p
    return _row(name, statistic, real, synthetic,
                f"KS distance {test.statistic:.2f} (p {test.pvalue:.2g}) <= {tol.context_ks:g} "
                f"or p >= {tol.context_p:g}", lambda a, b: not apart)


def _invisible(name: str, real: list[float], synthetic: list[float],
               tol: Tolerances) -> ParityRow:
    statistic = f"invisible labels (< {tol.invisible_below:.0%} changed)"
    if not real or not synthetic:
        return ParityRow(statistic=statistic, class_name=name, real=None, synthetic=None,
                         tolerance="n/a: no clean reference", ok=None)
    r = float(np.mean(np.asarray(real) < tol.invisible_below))
    s = float(np.mean(np.asarray(synthetic) < tol.invisible_below))
    return ParityRow(statistic=statistic, class_name=name, real=r, synthetic=s,
                     tolerance=f"<= real + {tol.invisible_share:g}",
                     ok=s <= r + tol.invisible_share)


def _ratio(name: str, statistic: str, real: Sequence[float], synthetic: Sequence[float],
           bounds: tuple[float, float]) -> ParityRow:
    low, high = bounds
    return _row(name, statistic, real, synthetic, f"x [{low:g}, {high:g}]",
                lambda a, b: a > 0 and low <= b / a <= high)


def _margin(name: str, side: str, real: list[float], synthetic: list[float],
            tol: Tolerances) -> ParityRow:
    return _row(name, f"margin {side} (px)", real, synthetic,
                f"± max({tol.margin_px:g} px, {tol.margin_rel:.0%})",
                lambda a, b: abs(b - a) <= max(tol.margin_px, tol.margin_rel * abs(a)))


def _row(name: str, statistic: str, real: Sequence[float], synthetic: Sequence[float],
         tolerance: str, within: Callable[[float, float], bool]) -> ParityRow:
    if not len(real) or not len(synthetic):
        return ParityRow(statistic=statistic, class_name=name, real=None, synthetic=None,
                         tolerance="n/a: no clean reference", ok=None)
    r, s = _quantiles(real), _quantiles(synthetic)
    return ParityRow(statistic=statistic, class_name=name, real=r[1], synthetic=s[1],
                     real_range=(r[0], r[2]), synthetic_range=(s[0], s[2]),
                     tolerance=tolerance, ok=bool(within(r[1], s[1])))


def _quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    p5, p50, p95 = np.quantile(np.asarray(values, float), (0.05, 0.5, 0.95))
    return float(p5), float(p50), float(p95)


def _set_rows(real: SetStats, synthetic: SetStats, tol: Tolerances) -> list[ParityRow]:
    low, high = tol.instances_ratio
    r, s = float(np.mean(real.per_image or [0])), float(np.mean(synthetic.per_image or [0]))
    rows = [ParityRow(statistic="instances / image (mean)", class_name=ALL, real=r, synthetic=s,
                      real_range=_range(real.per_image), synthetic_range=_range(synthetic.per_image),
                      tolerance=f"x [{low:g}, {high:g}]", ok=r > 0 and low <= s / r <= high)]
    mix_r, mix_s = real.class_mix(), synthetic.class_mix()
    names = list(dict.fromkeys([*mix_r, *mix_s]))
    for name in names:
        rows.append(ParityRow(statistic="class share", class_name=name, real=mix_r.get(name, 0.0),
                              synthetic=mix_s.get(name, 0.0), tolerance="in the class mix",
                              ok=None))
    distance = 0.5 * sum(abs(mix_r.get(n, 0.0) - mix_s.get(n, 0.0)) for n in names)
    rows.append(ParityRow(statistic=MIX_DISTANCE, class_name=ALL, real=0.0,
                          synthetic=distance, tolerance=f"<= {tol.class_mix_tv:g}",
                          ok=distance <= tol.class_mix_tv))
    return rows


def _range(values: list[int]) -> tuple[float, float] | None:
    if not values:
        return None
    low, _, high = _quantiles(values)
    return (low, high)


def _problem(row: ParityRow) -> str:
    topic = row.statistic.split()[0]
    hint = HINTS.get(topic, "")
    if row.statistic == MIX_DISTANCE:  # a distance to the real mix: no real figure to quote
        return (f"{row.class_name}: the class mix is {fmt(row.synthetic)} (TV distance) from the real "
                f"one, out of tolerance ({row.tolerance}): {hint}")
    return (f"{row.class_name}: {row.statistic} synthetic {fmt(row.synthetic)} against real "
            f"{fmt(row.real)}, out of tolerance ({row.tolerance}): {hint}")


def fmt(value: float | None) -> str:
    """A figure for tables: three significant digits, `n/a` for None."""
    return "n/a" if value is None else f"{value:.3g}"


def cell(value: float | None, spread: tuple[float, float] | None) -> str:
    """`median [p5, p95]` or the bare figure."""
    return fmt(value) if spread is None else f"{fmt(value)} [{fmt(spread[0])}, {fmt(spread[1])}]"


def parity_markdown(result: ParityResult) -> str:
    """The parity table as markdown (for summary.md and the MLflow run description)."""
    verdict = "within tolerance" if result.ok else f"{len(result.problems)} out of tolerance"
    lines = [f"Label parity: {result.synthetic_images} synthetic against {result.real_images} "
             f"real images ({verdict}; median [p5, p95]).", "",
             "| statistic | class | real | synthetic | tolerance | ok |",
             "|---|---|---|---|---|---|"]
    for row in result.rows:
        mark = {True: "yes", False: "**NO**", None: "-"}[row.ok]
        lines.append(f"| {row.statistic} | {row.class_name} | {cell(row.real, row.real_range)} | "
                     f"{cell(row.synthetic, row.synthetic_range)} | {row.tolerance} | {mark} |")
    if result.problems:
        lines += ["", *(f"- {p}" for p in result.problems)]
    return "\n".join(lines) + "\n"
