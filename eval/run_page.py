"""What a reviewer sees on the evaluation's parent run page in MLflow: the description (the
one-sentence verdict, the arms table with intervals, the figures inline), the tags to filter
by, the key metrics that chart across evaluations, and whether an arm earned the `champion`."""

from __future__ import annotations

from urllib.parse import quote

from eval.report import LEARNED_MAP50, PRIMARY, ArmSummary, EvalReport, summary_markdown

FIGURE_TITLES = {
    "arms_map.png": "mAP per arm with 95 % intervals",
    "per_class_ap.png": "AP50-95 per class",
    "synthetic_samples.png": "synthetic samples with their mask outlines",
}
"""Figures of publish.py, by file name, as the run page captions them."""


def synthetic_arms(report: EvalReport) -> list[ArmSummary]:
    """The arms with synthetic data (those measured against a real-only reference)."""
    return [a for a in report.arms if a.reference is not None]


def beats_real(arm: ArmSummary) -> bool:
    """The arm's primary-metric delta vs its real-only reference lies above 0: the interval
    over seeds, or with one seed the test-image bootstrap interval."""
    delta = arm.delta[PRIMARY]
    if delta.n > 1:
        return delta.low > 0
    boot = arm.over_test.get(f"delta_{PRIMARY}")
    return boot is not None and boot.low > 0


def champion_arm(report: EvalReport) -> ArmSummary | None:
    """The best arm, when it is a synthetic arm that beats real-only (else None)."""
    best = report.arm(report.best_arm)
    return best if best.reference is not None and beats_real(best) else None


def headline(report: EvalReport) -> str:
    """The verdict in one sentence."""
    synthetic = synthetic_arms(report)
    learned = max(a.metrics["map50"].mean for a in report.arms)
    if learned < LEARNED_MAP50:
        return (f"No detector learned to detect (best mAP50 {learned:.3f} < {LEARNED_MAP50}), "
                "so this run cannot say whether synthetic data helps.")
    if not synthetic:
        return "Only the real-only arm was run: nothing to compare."
    winner = champion_arm(report)
    if winner is not None:
        return (f"Synthetic data helped: `{winner.arm}` beats the stronger real-only run "
                f"(`{winner.reference}`) by {_delta(winner)} COCOeval mAP50-95.")
    closest = max(synthetic, key=lambda a: a.delta[PRIMARY].mean)
    return (f"No synthetic arm beat the stronger real-only run: the closest, `{closest.arm}`, "
            f"is at {_delta(closest)} COCOeval mAP50-95 (vs `{closest.reference}`).")


def _delta(arm: ArmSummary) -> str:
    d = arm.delta[PRIMARY]
    if d.n > 1:
        return f"{d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}] (95 % CI over seeds)"
    boot = arm.over_test.get(f"delta_{PRIMARY}")
    if boot is None:
        return f"{d.mean:+.3f} (one seed, no interval)"
    return (f"{d.mean:+.3f} (one seed; COCOeval delta {boot.mean:+.3f} [{boot.low:+.3f}, "
            f"{boot.high:+.3f}] over test images)")


def artifact_url(run_id: str, path: str) -> str:
    """A run artifact as the MLflow UI serves it (relative to the UI's root)."""
    return f"get-artifact?path={quote(path, safe='')}&run_uuid={run_id}"


def description(report: EvalReport, figures: list[str]) -> str:
    """The parent run's description (markdown): verdict, summary table, figures inline (given
    as artifact paths, e.g. `figures/arms_map.png`), where to look next."""
    run_id = report.parent_run_id
    lines = [f"**Verdict:** {headline(report)}", "", summary_markdown(report, parity_tables=False).rstrip(), ""]
    winner = champion_arm(report)
    if report.registered_model:
        lines.append(f"Registered detector: `{report.registered_model}`"
                     + (" (now the `champion` alias)." if winner else
                        "; the `champion` alias did not move (no arm beat real-only)."))
    lines += ["", "## Figures", ""]
    for path in figures:
        title = FIGURE_TITLES.get(path.rsplit("/", 1)[-1], path)
        url = artifact_url(run_id, path)
        lines += [f"**{title}** ([{path}]({url}))", "", f"![{title}]({url})", ""]
    lines += ["## Where to look next", "",
              "- Each nested run (`<arm>-seed<N>`): its **Model metrics** tab draws the "
              "training losses (`train/*`) and the monitor-image validation (`val/*`) per epoch.",
              "- Artifacts: `report/summary.md`, `report/report.json` (every number), `spec/` "
              "(the defect spec), `figures/`."]
    return "\n".join(lines) + "\n"


def run_tags(report: EvalReport, generator_revision: str | None) -> dict[str, str]:
    """Tags to filter and group evaluations by in the experiment view."""
    cfg = report.config
    return {"dataset": report.dataset, "k": str(report.real_budget),
            "spec_hash": report.spec_hash or "none", "generator_revision": generator_revision
            or "none", "profile": cfg.profile, "verdict": headline(report)[:250]}


def key_metrics(report: EvalReport) -> dict[str, float]:
    """The few numbers to chart across evaluations: the best synthetic arm's Δ COCOeval
    mAP50-95 vs its real-only reference and its gate pass rate, and real-only's mAP50-95."""
    out = {"key/real_map50_95": report.arm("real").metrics[PRIMARY].mean} if any(
        a.arm == "real" for a in report.arms) else {}
    synthetic = synthetic_arms(report)
    if synthetic:
        best = max(synthetic, key=lambda a: a.delta[PRIMARY].mean)
        out["key/delta_map50_95"] = best.delta[PRIMARY].mean
        if best.gate_pass_rate is not None:
            out["key/gate_pass_rate"] = best.gate_pass_rate
    return out
