"""With `jobs` above 1, the real-only arm trains in a process of its own while the sets are drawn."""

import multiprocessing
import threading
import time

import pytest

from conditioning.errors import DefectforgeError
from eval.arms import ARMS
from eval.config import resolve_config
from eval.protocol import (
    RESULT,
    evaluation_context,
    real_arm_beside,
    run_evaluation,
    train_real_arm,
)


def toy_config(toy_dataset, tmp_path, **extra):
    settings = dict(real_budget=8, arms=["real", "copypaste"], seeds=[0], ratio=1.0, test_limit=4,
                    epochs=1, imgsz=64, val_imgsz=96, batch=8, workers=0, device="cpu",
                    out_dir=tmp_path / "eval", experiment="toy-beside", jobs=2)
    return resolve_config(str(toy_dataset), "quick", **{**settings, **extra})


def test_the_real_arm_trains_beside_only_with_jobs_a_set_to_draw_and_a_run_to_train(
        toy_dataset, tmp_path):
    assert real_arm_beside(evaluation_context(toy_config(toy_dataset, tmp_path, jobs=1))) is None
    assert real_arm_beside(evaluation_context(toy_config(toy_dataset, tmp_path,
                                                         arms=["real"]))) is None
    settings = real_arm_beside(evaluation_context(toy_config(toy_dataset, tmp_path)))
    assert settings["out_dir"] == str(tmp_path / "eval") and settings["arms"] == ["real", "copypaste"]


def test_a_stopped_real_arm_starts_no_run(toy_dataset, tmp_path):
    stop = threading.Event()
    stop.set()
    assert train_real_arm(toy_config(toy_dataset, tmp_path), stop=stop) == []
    assert not (tmp_path / "eval" / "arms" / "real").exists()


@pytest.mark.slow
def test_the_real_arm_is_trained_while_the_sets_are_drawn(toy_dataset, tmp_path, mlflow_store,
                                                          monkeypatch):
    """The copy-paste set is drawn only once the real run has its result: had the real arm not
    trained beside the drawing, the draw would give up and the evaluation fail."""
    result = tmp_path / "eval" / "arms" / "real" / "seed0" / RESULT
    draw = ARMS["copypaste"]

    def draw_once_real_has_trained(inputs):
        deadline = time.monotonic() + 600
        while not result.is_file() and time.monotonic() < deadline:
            time.sleep(0.5)
        if not result.is_file():
            raise DefectforgeError("the real arm did not train while the set was drawn")
        return draw(inputs)

    monkeypatch.setitem(ARMS, "copypaste", draw_once_real_has_trained)
    report = run_evaluation(toy_config(toy_dataset, tmp_path))
    assert [a.arm for a in report.arms] == ["real", "copypaste"]
    assert (tmp_path / "eval" / "arms" / "copypaste" / "seed0" / RESULT).is_file()
    assert multiprocessing.active_children() == []


def test_a_failed_draw_stops_the_real_arm_beside(toy_dataset, tmp_path, mlflow_store,
                                                 monkeypatch):
    def fail(inputs):
        raise DefectforgeError("spec: cannot be placed")

    monkeypatch.setitem(ARMS, "copypaste", fail)
    with pytest.raises(DefectforgeError, match="cannot be placed"):
        run_evaluation(toy_config(toy_dataset, tmp_path))
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "eval" / "arms" / "real" / "seed0" / RESULT).exists()


def test_a_real_arm_that_stopped_with_an_error_is_warned_about(tmp_path, capsys):
    """Settings the process cannot read make it exit with an error: the evaluation goes on (its
    workers train the real runs) and says so."""
    from eval.real_beside import RealArmBeside

    with RealArmBeside({"dataset": "none"}, tmp_path) as beside:
        beside.sets_drawn()
    assert beside.process.exitcode != 0
    err = capsys.readouterr().err
    assert "stopped with exit code" in err and str(tmp_path / "logs") in err
