"""Report figures (matplotlib Agg): arms with intervals, per-class AP, synthetic samples."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from eval.report import ArmSummary
from pipeline.data.atomic import write_bytes
from pipeline.data.coco_reader import read_coco


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def arms_chart(arms: list[ArmSummary], path: Path) -> Path:
    """Bars of COCOeval mAP50 and mAP50-95 (the primary figure) per arm with their 95 %
    intervals over seeds."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.6 * len(arms) + 3, 4))
    x = np.arange(len(arms))
    for offset, metric in ((-0.2, "coco_map50"), (0.2, "coco_map50_95")):
        means = [a.metrics[metric].mean for a in arms]
        errs = [[a.metrics[metric].mean - a.metrics[metric].low for a in arms],
                [a.metrics[metric].high - a.metrics[metric].mean for a in arms]]
        ax.bar(x + offset, means, 0.4, yerr=errs, capsize=4, label=metric.replace("coco_", "COCOeval ").replace("_", "-"))
    ax.set_xticks(x, [a.arm for a in arms])
    ax.set_ylabel("mAP on the real test split")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Arms at the same real budget (95 % CI over seeds)")
    return _save(fig, plt, path)


def per_class_chart(arms: list[ArmSummary], path: Path) -> Path:
    """Grouped bars: AP50-95 of each class, one bar per arm."""
    plt = _pyplot()
    classes = sorted({c for a in arms for c in a.per_class_ap50_95})
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(classes) * len(arms) / 2), 4))
    width = 0.8 / max(1, len(arms))
    x = np.arange(len(classes))
    for i, a in enumerate(arms):
        ax.bar(x + i * width - 0.4 + width / 2, [a.per_class_ap50_95.get(c, 0.0) for c in classes],
               width, label=a.arm)
    ax.set_xticks(x, classes, rotation=30, ha="right")
    ax.set_ylabel("AP50-95 (mean over seeds)")
    ax.set_ylim(0, 1)
    ax.legend()
    return _save(fig, plt, path)


def sample_grid(sets: dict[str, Path], path: Path, per_set: int = 4) -> Path | None:
    """First `per_set` images of each synthetic COCO set, mask outlines drawn in red."""
    rows = {arm: read_coco(coco)[:per_set] for arm, coco in sets.items()}
    rows = {arm: recs for arm, recs in rows.items() if recs}
    if not rows:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), per_set, figsize=(2.2 * per_set, 2.3 * len(rows)),
                             squeeze=False)
    for r, (arm, records) in enumerate(rows.items()):
        for c in range(per_set):
            ax = axes[r][c]
            ax.axis("off")
            if c >= len(records):
                continue
            record = records[c]
            ax.imshow(record.load_image())
            for inst in record.instances:
                ax.contour(inst.mask, levels=[0.5], colors="red", linewidths=0.8)
            ax.set_title(f"{arm}: {len(record.instances)} defects", fontsize=8)
    return _save(fig, plt, path)


def _save(fig, plt, path: Path) -> Path:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, dpi=110, format="png")
    plt.close(fig)
    write_bytes(path, buffer.getvalue())
    return path
