"""Reliability benchmark, the long form of tests/reliability: hostile inputs, kill -9, memory.

    python -m eval.bench_reliability                     # 10,000 specs, 1,000 COCO files,
                                                         # 20 kills of a 200-image campaign,
                                                         # RSS over 10,000 generated samples
    python -m eval.bench_reliability --specs 2000 --kills 3 --campaign-count 24 --rss-samples 400

Prints each row when it is done, then the table; runs/bench/reliability.{json,md} are rewritten
after every row (an interrupted run keeps the rows it finished). Done when: 100 % located errors,
0 tracebacks, 0 hangs, 0 crashes, 0 reads outside; 0 lost, 0 duplicate, valid COCO after the kills; RSS at
the last sample within +-10 % of RSS at the first tenth.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import yaml

from pipeline.data.atomic import write_bytes, write_json
from pipeline.offline import configure_offline_environment
from pipeline.paths import runs_root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=int, default=10_000, help="hostile spec files")
    parser.add_argument("--coco", type=int, default=1_000, help="hostile COCO files")
    parser.add_argument("--kills", type=int, default=20, help="kill -9 of the campaign")
    parser.add_argument("--campaign-count", type=int, default=200, help="images of that campaign")
    parser.add_argument("--rss-samples", type=int, default=10_000, help="generated samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=5.0, help="s per fuzzed file")
    args = parser.parse_args(argv)
    configure_offline_environment()
    rows, results = [], {"arguments": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as scratch:
        scratch = Path(scratch)
        # 1. fuzzed specs and COCO files, one worker process, each case under the time limit
        for kind, count in (("spec", args.specs), ("coco", args.coco)):
            if count:
                _done(rows, _fuzz_row(kind, count, args, scratch / kind, results), results)
        # 2. kill -9 of a campaign at seeded random points, then a full run
        if args.kills:
            _done(rows, _kill_row(args, scratch, results), results)
        # 3. resident memory over many generated samples
        if args.rss_samples:
            _done(rows, _rss_row(args, scratch, results), results)
    print(_table(rows))


def _table(rows: list[str]) -> str:
    return "\n".join(["| check | size | result | seconds |", "|---|---|---|---|", *rows])


def _done(rows: list[str], row: str, results: dict) -> None:
    """Keep a finished row: print it and rewrite both files, so an interrupted run keeps it."""
    rows.append(row)
    print(row, flush=True)
    out = runs_root() / "bench"
    write_json(out / "reliability.json", results)
    write_bytes(out / "reliability.md", (_table(rows) + "\n").encode())


def _fuzz_row(kind: str, count: int, args, folder: Path, results: dict) -> str:
    from eval.reliability.fuzz_run import fuzz
    from eval.reliability.probe import OUTCOMES

    start = time.perf_counter()
    tally = fuzz(kind, range(args.seed, args.seed + count), folder, limit=args.limit)
    seconds = time.perf_counter() - start
    outcomes = {name: tally.outcomes.get(name, 0) for name in OUTCOMES}
    results[f"fuzz_{kind}"] = {"count": count, **outcomes, "examples": tally.examples}
    share = 100 * outcomes["located"] / count
    found = ", ".join(f"{v} {k}" for k, v in outcomes.items() if k != "located")
    return f"| fuzzed {kind} files | {count:,} | {share:.1f} % located; {found} | {seconds:.0f} |"


def _kill_row(args, scratch: Path, results: dict) -> str:
    from eval.reliability.kill_resume import kill_and_resume

    name = f"bench-kill-{args.seed}"
    config = scratch / "kill.yaml"
    config.write_text(yaml.safe_dump({
        "name": name, "dataset": "sample", "real_budget": 8, "count": args.campaign_count,
        "batch_size": 16, "train": {"base_steps": 2, "control_steps": 2, "clean_crops": 32,
                                    "batch_size": 4},
        "render": {"steps": 2, "batch_size": 4, "gate": {"retries": 0}}, "evaluate": False,
    }))  # fmt: skip
    out = runs_root() / "campaigns" / name
    start = time.perf_counter()
    # a campaign writes about 3.8 files per image: kills at most count/7 files apart all land
    # before it finishes (with 60, 3 of 20 kills of a 200-image campaign found it finished)
    max_gap = max(5, args.campaign_count // 7)
    report = kill_and_resume(config, [out, runs_root() / "models"], args.campaign_count,
                             args.kills, args.seed, dict(os.environ), max_gap=max_gap)  # fmt: skip
    seconds = time.perf_counter() - start
    results["kill_resume"] = asdict(report)
    return (f"| kill -9 of a campaign | {report.kills} kills, {args.campaign_count} images | "
            f"{report.samples} samples, {report.lost} lost, {report.duplicates} duplicate, "
            f"{report.temp_files} temp files, COCO {'valid' if report.coco_ok else 'INVALID'} "
            f"| {seconds:.0f} |")  # fmt: skip


def _rss_row(args, scratch: Path, results: dict) -> str:
    from eval.reliability.memory import rss_over_generation

    def save(points: list[tuple[int, float]]) -> None:  # an interrupted run keeps its points
        results["rss"] = {"points": points, "finished": False}
        write_json(runs_root() / "bench" / "reliability.json", results)

    start = time.perf_counter()
    points = rss_over_generation(args.rss_samples, max(1, args.rss_samples // 10), scratch / "rss",
                                 on_point=save)  # fmt: skip
    seconds = time.perf_counter() - start
    first, last = points[0][1], points[-1][1]
    change = 100 * (last - first) / first
    results["rss"] = {"points": points, "finished": True, "change_percent": round(change, 1)}
    return (f"| RSS while generating | {points[0][0]:,} -> {points[-1][0]:,} samples | "
            f"{first:.0f} MB -> {last:.0f} MB ({change:+.1f} %) | {seconds:.0f} |")


if __name__ == "__main__":
    main()
