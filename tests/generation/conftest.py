"""Tiny seeded fixtures for the generation tests: a toy board set and tiny model configs."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.crop_sets import Example
from pipeline.data.budget import choose_real_budget, save_budget
from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset
from pipeline.paths import PROJECT_ROOT
from pipeline.training_data import TrainingData

TINY_COMPACT = {"resolution": 16, "block_out_channels": (8, 16), "token_dim": 16, "inference_steps": 4}
CLASSES = ["dark", "bright"]


def toy_board(rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A clean grey board with horizontal traces."""
    board = np.full((size, size, 3), 90, np.uint8)
    for row in rng.choice(np.arange(4, size - 6), size=3, replace=False):
        board[row : row + 3] = 170
    return board


def toy_defect(clean: np.ndarray, class_id: int, severity: float, center, radius: int):
    """A round spot, darker (class 1) or brighter (class 2), its contrast growing with severity."""
    yy, xx = np.mgrid[: clean.shape[0], : clean.shape[1]]
    mask = (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2
    image = clean.astype(np.int16)
    delta = int(20 + 150 * severity) * (-1 if class_id == 1 else 1)
    image[mask] += delta
    return np.clip(image, 0, 255).astype(np.uint8), mask


def toy_data(n: int = 12, seed: int = 0, size: int = 48) -> TrainingData:
    """`n` toy images, each with two spots of random class and severity, and their clean boards."""
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(n):
        clean = toy_board(rng, size)
        image, instances = clean, []
        for _ in range(2):
            class_id, severity = int(rng.integers(1, 3)), float(rng.random())
            center = rng.integers(8, size - 8, size=2)
            image, mask = toy_defect(image, class_id, severity, center, int(rng.integers(2, 5)))
            instances.append((class_id, mask))
        examples.append(Example(image, clean, instances))
    return TrainingData(examples, [e.clean for e in examples], list(CLASSES), {"dataset": "toy"})


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every generation test runs torch on one thread (tests/conftest.py)."""


@pytest.fixture
def toy() -> TrainingData:
    return toy_data()


@pytest.fixture
def kit() -> SimpleNamespace:
    """The toy helpers and tiny configs, for tests (conftest is not importable in importlib mode)."""
    return SimpleNamespace(classes=list(CLASSES), tiny=dict(TINY_COMPACT), board=toy_board,
                           defect=toy_defect, data=toy_data)


@pytest.fixture
def tiny_line(tmp_path, monkeypatch, kit):
    """A prepared 10-board copy of the sample line (128 px), its spec and a k=4 budget."""
    monkeypatch.setenv("DEFECTFORGE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("DEFECTFORGE_DATASETS", str(tmp_path / "datasets"))
    folder = tmp_path / "datasets" / "tiny"
    folder.mkdir(parents=True)
    text = (PROJECT_ROOT / "datasets" / "sample" / "dataset.yaml").read_text()
    text = text.replace("name: sample", "name: tiny")
    text = text.replace("{boards: 200, defect_free: 40}", "{boards: 10, defect_free: 1}")
    text = text.replace("{boards: 100, defect_free: 20}", "{boards: 3, defect_free: 1}")
    (folder / "dataset.yaml").write_text(text)
    shutil.copy(PROJECT_ROOT / "datasets" / "sample" / "defects.yaml", folder / "defects.yaml")
    prepare_dataset("tiny", progress=False, workers=1)
    budget = save_budget(choose_real_budget(PreparedDataset("tiny").coco_path("train"), 4, 0), tmp_path / "b.json")
    return folder / "defects.yaml", budget
