"""Publish a finished evaluation: figures, parent-run metrics and artifacts, the best detector
in the model registry, and report.json + summary.md on disk."""

from __future__ import annotations

from pathlib import Path

from eval import tracking
from eval.figures import arms_chart, per_class_chart, sample_grid
from eval.report import PRIMARY, EvalReport, summary_markdown
from eval.run_page import champion_arm, description, key_metrics, run_tags
from pipeline.data.atomic import write_bytes
from pipeline.data.coco_reader import read_coco


def parent_metrics(report: EvalReport) -> dict[str, float]:
    """Per arm: mean and CI of each metric, delta vs its real-only reference with its CI (and
    vs its strongest synthetic rival), per-class AP."""
    out: dict[str, float] = {}
    for a in report.arms:
        for name, interval in a.metrics.items():
            out.update({f"{a.arm}/{name}": interval.mean, f"{a.arm}/{name}_ci_low": interval.low,
                        f"{a.arm}/{name}_ci_high": interval.high})
        if a.reference is not None:
            for name, interval in a.delta.items():
                out.update({f"{a.arm}/delta_{name}": interval.mean,
                            f"{a.arm}/delta_{name}_ci_low": interval.low,
                            f"{a.arm}/delta_{name}_ci_high": interval.high})
        if a.rival_delta is not None:
            out.update({f"{a.arm}/rival_delta_{PRIMARY}": a.rival_delta.mean,
                        f"{a.arm}/rival_delta_{PRIMARY}_ci_low": a.rival_delta.low,
                        f"{a.arm}/rival_delta_{PRIMARY}_ci_high": a.rival_delta.high})
        for name, interval in a.over_test.items():
            out.update({f"{a.arm}/test_bootstrap/{name}": interval.mean,
                        f"{a.arm}/test_bootstrap/{name}_ci_low": interval.low,
                        f"{a.arm}/test_bootstrap/{name}_ci_high": interval.high})
        out.update({f"{a.arm}/ap50_95/{c}": v for c, v in a.per_class_ap50_95.items()})
        if a.gate_pass_rate is not None:
            out[f"{a.arm}/gate_pass_rate"] = a.gate_pass_rate
        for name, interval in (a.deeppcb or {}).items():
            out[f"{a.arm}/deeppcb_{name}"] = interval.mean
    for arm, parity in report.parity.items():
        out[f"{arm}/parity_out_of_tolerance"] = float(len(parity.problems))
    return out


def publish_report(report: EvalReport, spec_path: Path | None) -> EvalReport:
    """Inside the active parent run: log everything, register the best detector (the `champion`
    alias only when an arm beats real-only), write the run page, save files."""
    folder = Path(report.report_dir)
    seed = report.config.seeds[0]
    sets = {a.arm: folder.parent / "arms" / a.arm / f"seed{seed}" / "synthetic" / "annotations.json"
            for a in report.arms if a.arm != "real"}
    figures = [
        arms_chart(report.arms, folder / "arms_map.png"),
        per_class_chart(report.arms, folder / "per_class_ap.png"),
        sample_grid({k: v for k, v in sets.items() if v.is_file()}, folder / "synthetic_samples.png"),
    ]
    best = next(r for r in report.runs if r.run_id == report.best_run_id)
    name = report.config.register_name or f"defectforge-{report.dataset}-detector"
    report.registered_model = tracking.register_detector(
        Path(best.weights), name, best.run_id, example_image(folder.parent / "test"),
        champion=champion_arm(report) is not None)
    summary = write_bytes(folder / "summary.md", summary_markdown(report).encode())
    saved = report.save(folder / "report.json")
    revisions = ",".join(sorted({r.generator_revision for r in report.runs
                                 if r.generator_revision})) or None
    tracking.log_parent_params({"generator_revision": revisions})
    tracking.log_parent_results({**parent_metrics(report), **key_metrics(report)}, {})
    for group, paths in (("figures", figures), ("spec", [spec_path]), ("report", [summary, saved])):
        for path in paths:
            tracking.log_parent_results({}, {group: path})
    shown = [f"figures/{path.name}" for path in figures if path is not None and path.is_file()]
    tracking.set_run_page(description(report, shown), run_tags(report, revisions))
    return report


def example_image(test_dir: Path) -> Path:
    """The first real test image: the registered detector's input example."""
    return read_coco(test_dir / "annotations.json")[0].image_path
