"""`evaluate` with untrusted inputs: a malicious .pt is refused unrun; a bad dataset name is helped."""

from __future__ import annotations

import os

import pytest
import torch
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from eval.detector import load_yolo
from flows.cli import app


class _Payload:
    """Unpickling this runs `touch MARKER` (what a hostile checkpoint would do)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "MARKER"
    torch.save({"model": _Payload(marker), "train_args": {}}, tmp_path / "evil.pt")
    return tmp_path / "evil.pt", marker


def test_evaluate_refuses_a_malicious_checkpoint_without_running_it(evil, toy_dataset):
    path, marker = evil
    result = CliRunner().invoke(app, ["evaluate", "--dataset", str(toy_dataset), "--model", str(path)])
    assert isinstance(result.exception, DefectforgeError), result.output
    assert "refused to load these detector weights" in str(result.exception)
    assert not marker.exists()


def test_load_yolo_refuses_it_too(evil):
    path, marker = evil
    with pytest.raises(DefectforgeError, match="refused"):
        load_yolo(path)
    assert not marker.exists()


def test_a_plain_ultralytics_checkpoint_still_loads(tmp_path):
    load_yolo("yolov8n.yaml").save(tmp_path / "plain.pt")
    assert load_yolo(tmp_path / "plain.pt").names


def test_unknown_dataset_suggests_a_known_one():
    result = CliRunner().invoke(app, ["evaluate", "--dataset", "sampel"])
    message = str(result.exception)
    assert "no dataset 'sampel'" in message and "did you mean `sample`?" in message
    assert "data prepare sampel" not in message
