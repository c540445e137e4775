"""Per-epoch record of one detector's training, written by the process that trains it.

Detectors train in spawned processes and MLflow is logged from the parent, so the training
process writes two small files into its run folder, both atomically:
`curves.json` (training losses and learning rate every epoch; validation losses and mAP on the
monitor images about VAL_POINTS times per run) becomes metrics with steps in the nested run,
and `progress.json` (the latest epoch, its loss, the seconds so far) feeds the live progress
rows in the parent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.data.atomic import write_json

CURVES = "curves.json"
PROGRESS = "progress.json"
VAL_POINTS = 20
"""Validations on the monitor images per run (besides ultralytics' own at the last epoch):
a validation curve at bounded cost. Random states are restored after each, so the weights are
the same as without them (tests/eval/test_eval_epoch_log.py)."""


def val_period(epochs: int) -> int:
    """Validate every this many epochs."""
    return max(1, epochs // VAL_POINTS)


class EpochRecorder:
    """ultralytics callbacks that write `curves.json` and `progress.json` into `folder`."""

    def __init__(self, folder: Path, label: str):
        self.folder = folder
        self.label = label
        self.curves: dict[str, list[list[float]]] = {}
        self.started = time.monotonic()

    def attach(self, model: Any) -> None:
        model.add_callback("on_train_start", self.on_train_start)
        model.add_callback("on_fit_epoch_end", self.on_fit_epoch_end)

    def on_train_start(self, trainer: Any) -> None:
        self.started = time.monotonic()
        self._progress(0, trainer.epochs, None)

    def on_fit_epoch_end(self, trainer: Any) -> None:
        epoch, epochs = trainer.epoch + 1, trainer.epochs
        if epoch > epochs:  # ultralytics' final validation of best.pt calls back once more
            return
        losses = trainer.label_loss_items(trainer.tloss, prefix="train")
        values = {**{k: float(v) for k, v in losses.items()},
                  **{f"train/{k}": float(v) for k, v in trainer.lr.items()}}
        final = epoch >= epochs
        if not final and epoch % val_period(epochs) == 0:
            with _rng_kept():
                trainer.metrics, trainer.fitness = trainer.validate()
        if final or epoch % val_period(epochs) == 0:
            values.update({_metric_name(k): float(v) for k, v in trainer.metrics.items()})
        for name, value in values.items():
            self.curves.setdefault(name, []).append([epoch, value])
        write_json(self.folder / CURVES, self.curves)
        self._progress(epoch, epochs, sum(float(v) for v in losses.values()))

    def _progress(self, epoch: int, epochs: int, loss: float | None) -> None:
        write_json(self.folder / PROGRESS, {
            "label": self.label, "epoch": epoch, "epochs": epochs, "loss": loss,
            "seconds": round(time.monotonic() - self.started, 2)})


@contextmanager
def _rng_kept() -> Iterator[None]:
    """Restore every random state afterwards: a validation must not change the training."""
    import random

    import numpy as np
    import torch

    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)


def _metric_name(key: str) -> str:
    """ultralytics' `metrics/mAP50(B)` -> `val/mAP50`; `val/box_loss` stays."""
    return "val/" + key.split("/", 1)[-1].removesuffix("(B)") if key.startswith("metrics/") else key


def read_curves(folder: Path) -> dict[str, list[list[float]]]:
    """The curves a run recorded (empty for runs trained before curves were recorded)."""
    path = folder / CURVES
    return json.loads(path.read_text()) if path.is_file() else {}


def read_progress(folder: Path) -> dict[str, Any] | None:
    """The latest progress record, or None before training started (or mid-rename)."""
    try:
        return json.loads((folder / PROGRESS).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
