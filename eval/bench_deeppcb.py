"""Headline benchmark on DeepPCB: every arm at k = 50 (and k = 1000 on a GPU) against real-only.

    python -m eval.bench_deeppcb --profile quick    # 2-core CPU: k=50, 2 arms x 3 seeds (53.6 min measured)
    python -m eval.bench_deeppcb --profile full     # GPU: k=50 (~10 min on one H100), k=1000

Writes runs/bench/deeppcb-<profile>.json and .md (never committed). Needs the prepared data
(`defectforge data prepare deeppcb --source ../shared/datasets/deeppcb`).
"""

from __future__ import annotations

import argparse
import time
from typing import get_args

from eval.config import PROFILES, ScheduleName
from pipeline.data.atomic import write_bytes, write_json
from pipeline.offline import configure_offline_environment
from pipeline.paths import runs_root

BUDGETS = {"dev": [50], "quick": [50], "full": [50, 1000]}
"""Real budgets per profile (k = 1000 is the whole DeepPCB training split)."""
FULL_K1000 = {"epochs": 80}
"""k = 1000 follows the reference schedule (80 epochs, see shared/datasets/README.md)."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=list(PROFILES), default="quick")
    parser.add_argument("--budgets", help="comma list of k (default: per profile)")
    parser.add_argument("--arms", help="comma list (default: the profile's; diffusion needs "
                        "--generated)")
    parser.add_argument("--seeds", help="comma list (default: the profile's)")
    parser.add_argument("--epochs", type=int, help="real-only arm's epochs (default: profile's)")
    parser.add_argument("--schedule", choices=list(get_args(ScheduleName)),
                        help="how synthetic images join the real ones (eval/schedule.py; "
                        "default steps)")
    parser.add_argument("--ratio", type=float)
    parser.add_argument("--test-limit", type=int)
    parser.add_argument("--jobs", type=int, help="detectors trained at once, one process each")
    parser.add_argument("--workers", type=int, help="dataloader workers per detector")
    parser.add_argument("--generated", help="generated DeepPCB set for the diffusion arm")
    parser.add_argument("--generator-model", help="its model folder (leakage check of its "
                        "training images)")
    parser.add_argument("--budget", help="budget JSON the generator was trained on (used for "
                        "the k it was drawn for)")
    args = parser.parse_args(argv)
    configure_offline_environment()
    from eval.config import resolve_config
    from eval.protocol import run_evaluation

    budgets = [int(k) for k in args.budgets.split(",")] if args.budgets else BUDGETS[args.profile]
    rows, reports = [], {}
    for k in budgets:
        arms = args.arms.split(",") if args.arms else None
        if arms is None and args.generated is None and args.profile == "full":
            arms = ["real", "augment", "copypaste", "procedural"]
        extra = FULL_K1000 if (k == 1000 and args.profile == "full" and not args.epochs) else {}
        config = resolve_config(
            "deeppcb", args.profile, real_budget=k, arms=arms, ratio=args.ratio,
            seeds=[int(s) for s in args.seeds.split(",")] if args.seeds else None,
            epochs=args.epochs, schedule=args.schedule, test_limit=args.test_limit, generated=args.generated,
            jobs=args.jobs, workers=args.workers,
            generator_model=args.generator_model, budget_path=_budget_for(args.budget, k),
            experiment=f"bench-deeppcb-{args.profile}", **extra,
        )
        start = time.perf_counter()
        report = run_evaluation(config)
        minutes = (time.perf_counter() - start) / 60
        reports[f"k{k}"] = {"minutes": minutes, "report": report.model_dump(mode="json")}
        rows += table_rows(report, minutes)
    out = runs_root() / "bench" / f"deeppcb-{args.profile}"
    write_json(out.with_suffix(".json"), reports)
    write_bytes(out.with_suffix(".md"), markdown(args.profile, rows).encode())
    print(markdown(args.profile, rows))
    print(f"written: {out.with_suffix('.json')} and {out.with_suffix('.md')}")


def _budget_for(path: str | None, k: int) -> str | None:
    """The given budget JSON where its k matches this run's (else a fresh draw)."""
    from pipeline.data.budget import load_budget

    return path if path and load_budget(path).k == k else None


def table_rows(report, minutes: float) -> list[str]:
    from eval.report import PRIMARY, fmt_interval

    def fmt(i) -> str:
        return f"{i.mean:.3f}" if i.n == 1 else f"{i.mean:.3f} ± {i.half_width:.3f}"

    train_minutes = {a.arm: sum(r.train_seconds for r in report.runs if r.arm == a.arm) / 60
                     for a in report.arms}
    rows = []
    for a in report.arms:
        synthetic = a.reference is not None
        delta = fmt(a.delta[PRIMARY]) if synthetic else "—"
        boot = fmt_interval(a.over_test[f"delta_{PRIMARY}"], "+") if synthetic else "—"
        f1 = fmt(a.deeppcb["fscore"]) if a.deeppcb else "—"
        rows.append(f"| {report.real_budget} | {a.arm} | {a.epochs} | {a.steps} | "
                    f"{fmt(a.metrics[PRIMARY])} | {delta} | {a.reference or '—'} | {boot} | "
                    f"{fmt(a.metrics['coco_map50'])} | {fmt(a.metrics['map50'])} | "
                    f"{fmt(a.metrics['map50_95'])} | {f1} | {len(a.seeds)} | "
                    f"{train_minutes[a.arm]:.1f} | {minutes:.1f} |")
    return rows


def markdown(profile: str, rows: list[str]) -> str:
    head = [f"# DeepPCB benchmark ({profile} profile)", "",
            "Primary: COCOeval mAP50-95 on the real test split (± 95 % t-interval over seeds). "
            "Δ: seed-paired, against the stronger real-only run (`real`, or `real-eN` trained for "
            "the arm's epochs); [boot]: 95 % bootstrap over the test images, paired across arms. "
            "ultralytics mAP for reference.", "",
            "| k | arm | epochs | steps | COCOeval mAP50-95 | Δ vs reference | reference | "
            "Δ [boot] | COCOeval mAP50 | ultralytics mAP50 | ultralytics mAP50-95 | "
            "DeepPCB F-score | seeds | training minutes (arm, all seeds) | minutes (this "
            "command, whole k) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    return "\n".join(head + rows) + "\n"


if __name__ == "__main__":
    main()
