"""Fixtures of the data tests: a private runs/ and datasets/ folder, a tiny prepared sample line."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

TINY_SAMPLE = """
name: {name}
license: test
format: sample
clean_reference: rendered
classes:
  - {{id: 1, name: open}}
  - {{id: 2, name: short}}
  - {{id: 3, name: copper}}
  - {{id: 4, name: pin-hole}}
  - {{id: 5, name: scratch}}
layout:
  image_size: 128
  seed: 3
  train: {{boards: 14, defect_free: 2}}
  test: {{boards: 6, defect_free: 1}}
"""


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DEFECTFORGE_RUNS for this test."""
    path = tmp_path / "runs"
    monkeypatch.setenv("DEFECTFORGE_RUNS", str(path))
    return path


@pytest.fixture
def write_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """`write_dataset(name, yaml_text)` -> dataset.yaml in a private DEFECTFORGE_DATASETS."""
    root = tmp_path / "datasets"
    monkeypatch.setenv("DEFECTFORGE_DATASETS", str(root))

    def write(name: str, text: str) -> Path:
        path = root / name / "dataset.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def tiny_sample(runs: Path, write_dataset):
    """A prepared 20-board sample line at 128x128 (name `tiny`)."""
    from pipeline.data.prepare import prepare_dataset
    from pipeline.data.prepared import PreparedDataset

    write_dataset("tiny", TINY_SAMPLE.format(name="tiny"))
    prepare_dataset("tiny", progress=False, workers=1)
    return PreparedDataset("tiny")
