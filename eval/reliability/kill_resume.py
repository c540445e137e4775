"""Kill -9 a campaign at seeded random points (counted in files it has written, so every stage
can be hit: budget, training, generation, COCO, YOLO), rerun it, and check the result."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.paths import PROJECT_ROOT


@dataclass
class KillReport:
    """What the kills did and what the finished campaign holds."""

    kills: int
    killed_at_files: list[int]
    samples: int
    duplicates: int
    lost: int
    temp_files: int
    coco_ok: bool
    detail: str = ""


def _files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root)) if root.is_dir() else 0


def kill_and_resume(config: Path, out_dirs: list[Path], count: int, kills: int, seed: int,
                    env: dict[str, str], *, timeout: float = 900.0, max_gap: int = 40) -> KillReport:
    """Run `defectforge campaign --config config`, SIGKILL its process group after a random
    1..max_gap new files under `out_dirs`, `kills` times, then let it finish and check."""
    rng = random.Random(seed)
    command = [sys.executable, "-m", "flows.cli", "campaign", "--config", str(config)]
    killed_at = []
    for _ in range(kills):
        target = sum(_files(d) for d in out_dirs) + rng.randint(1, max_gap)
        process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if sum(_files(d) for d in out_dirs) >= target:
                os.killpg(process.pid, signal.SIGKILL)
                killed_at.append(target)
                break
            time.sleep(0.01)
        process.wait()
    final = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                           timeout=timeout)  # fmt: skip
    if final.returncode != 0:
        return KillReport(len(killed_at), killed_at, 0, 0, count, 0, False,
                          (final.stdout + final.stderr)[-2000:])  # fmt: skip
    return _check(out_dirs[0] / "generated", count, len(killed_at), killed_at)


def _check(generated: Path, count: int, kills: int, killed_at: list[int]) -> KillReport:
    from pipeline.data.coco_check import check_coco

    records = [json.loads(p.read_text()) for p in sorted((generated / "records").glob("*.json"))]
    ids = [record["id"] for record in records]
    images = sorted(p.stem for p in (generated / "images").glob("*.png"))
    temp = [p for p in generated.parent.rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]
    report = check_coco(generated / "annotations.json")
    coco_ids = [i.get("sample_id") for i in json.loads((generated / "annotations.json").read_text())["images"]]
    coco_ok = report.ok and len(coco_ids) == len(set(coco_ids)) and set(coco_ids) <= set(ids)
    return KillReport(
        kills, killed_at, len(set(ids)), len(ids) - len(set(ids)), max(0, count - len(set(ids))),
        len(temp), coco_ok and images == sorted(set(ids)), "; ".join(report.problems[:3]),
    )
