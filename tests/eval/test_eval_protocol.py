"""The protocol end to end at toy size against a real MLflow SQLite store."""

import json

import pytest

from conditioning.errors import DefectforgeError
from eval.config import resolve_config
from eval.protocol import run_evaluation


@pytest.mark.slow
def test_protocol_end_to_end(toy_dataset, tmp_path, mlflow_store, monkeypatch):
    import mlflow
    from mlflow import MlflowClient

    config = resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real", "copypaste"], seeds=[0, 1],
        ratio=1.0, tile=64, test_limit=6, epochs=2, imgsz=64, val_imgsz=96, batch=8,
        workers=0, device="cpu", out_dir=tmp_path / "eval", experiment="toy-eval", jobs=2,
    )
    monkeypatch.chdir(tmp_path)
    report = run_evaluation(config)

    # report: one summary per arm and per real-only control, intervals and deltas sane
    assert [a.arm for a in report.arms] == ["real", "copypaste", "real-e1"]
    for arm in report.arms:
        for interval in arm.metrics.values():
            assert 0.0 <= interval.mean <= 1.0 and interval.n == 2
        assert set(arm.per_class_ap50_95) <= {"scratch", "pit"}
    assert report.arm("real").delta["map50"].mean == pytest.approx(0.0)
    assert report.arm("copypaste").synthetic_images == 8
    # same optimizer steps: twice the training images, half the epochs; the real-only control
    # sees the real images as often as copypaste does; deltas against the stronger real run
    real_tiles = next(r.train_images for r in report.runs if r.arm == "real")
    for run in report.runs:
        assert run.train_images == (2 * real_tiles if run.arm == "copypaste" else real_tiles)
        assert run.epochs == (2 if run.arm == "real" else 1)
    assert report.arm("copypaste").steps == report.arm("real").steps
    assert report.arm("real-e1").steps == report.arm("real").steps // 2
    controls = {a: sum(r.metrics.coco.map50_95 for r in report.runs if r.arm == a)
                for a in ("real", "real-e1")}
    assert report.arm("copypaste").reference == max(controls, key=controls.get)
    assert report.arm("real").reference is None and report.arm("real-e1").reference is None
    for arm in report.arms:  # bootstrap over the test images, paired across arms
        boot = arm.over_test["coco_map50_95"]
        assert boot.n == 1000 and boot.low <= boot.mean <= boot.high
        assert boot.mean == pytest.approx(sum(r.metrics.coco.map50_95 for r in report.runs
                                              if r.arm == arm.arm) / 2)
    assert set(report.arm("copypaste").over_test) == {
        "coco_map50", "coco_map50_95", "delta_coco_map50", "delta_coco_map50_95"}
    saved = json.loads((tmp_path / "eval" / "report" / "report.json").read_text())
    assert saved["parent_run_id"] == report.parent_run_id
    summary = (tmp_path / "eval" / "report" / "summary.md").read_text()
    assert "| copypaste |" in summary and "## Label parity: copypaste" in summary
    assert set(report.parity) == {"copypaste"}

    from eval.bench_deeppcb import markdown, table_rows

    table = markdown("quick", table_rows(report, 1.0))
    assert table.count("\n| 8 | ") == 3 and "| 8 | copypaste | 1 |" in table
    assert "| 8 | real | 2 |" in table and "| 8 | real-e1 | 1 |" in table

    # MLflow: one parent, a nested run per arm and seed, metrics and artifacts
    mlflow.set_tracking_uri(mlflow_store)
    client = MlflowClient()
    experiment = client.get_experiment_by_name("toy-eval")
    runs = client.search_runs([experiment.experiment_id])
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == report.parent_run_id]
    assert len(runs) == 7 and len(children) == 6
    assert {r.info.run_name for r in children} == {
        "real-seed0", "real-seed1", "copypaste-seed0", "copypaste-seed1", "real-e1-seed0",
        "real-e1-seed1"}
    for child in children:
        assert 0.0 <= child.data.metrics["map50_95"] <= 1.0
        assert 0.0 <= child.data.metrics["coco_map50"] <= 1.0
        assert child.data.params["epochs"] == ("2" if child.info.run_name.startswith("real-seed")
                                               else "1")
        assert [a.path for a in client.list_artifacts(child.info.run_id, "weights")] == [
            "weights/last.pt"]
    parent = client.get_run(report.parent_run_id)
    assert parent.data.params["dataset"] == "toy" and parent.data.params["k"] == "8"
    assert {"spec_hash", "detector", "ratio", "seeds", "generator_revision",
            "schedule"} <= set(parent.data.params)
    assert "copypaste/delta_map50_95_ci_low" in parent.data.metrics
    assert "copypaste/parity_out_of_tolerance" in parent.data.metrics
    assert "copypaste/test_bootstrap/delta_coco_map50_95_ci_high" in parent.data.metrics
    figures = {a.path for a in client.list_artifacts(report.parent_run_id, "figures")}
    assert figures == {"figures/arms_map.png", "figures/per_class_ap.png",
                       "figures/synthetic_samples.png"}
    assert {a.path for a in client.list_artifacts(report.parent_run_id, "report")} == {
        "report/summary.md", "report/report.json"}
    assert client.list_artifacts(report.parent_run_id, "spec")
    name, version = report.registered_model.split("/")
    assert client.get_model_version(name, version).status == "READY"
    import pandas as pd

    served = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    image = sorted((toy_dataset / "images" / "test").glob("*.png"))[0]
    served.predict(pd.DataFrame({"image_path": [str(image)]}))  # runs (toy model may find nothing)

    assert not (tmp_path / "mlruns").exists()  # artifacts beside the SQLite store, not in cwd
    assert (tmp_path / "mlartifacts").is_dir()
    assert not list(tmp_path.glob("*.pt")) and not (tmp_path / "runs").exists()  # no downloads

    # the run page: the summary as the description, figures inline, tags to filter by
    note = parent.data.tags["mlflow.note.content"]
    assert note.startswith("**Verdict:** ") and "| copypaste |" in note
    assert f"get-artifact?path=figures%2Farms_map.png&run_uuid={report.parent_run_id}" in note
    assert {parent.data.tags[t] for t in ("dataset", "k", "profile")} == {"toy", "8", "quick"}
    assert parent.data.tags["spec_hash"] == parent.data.params["spec_hash"]
    assert "key/delta_map50_95" in parent.data.metrics
    # per-epoch curves in every nested run: training losses each epoch, monitor-image
    # validation every val_period epochs and at the last
    from eval.epoch_log import val_period

    for child in children:
        epochs = int(child.data.params["epochs"])
        history = client.get_metric_history(child.info.run_id, "train/box_loss")
        assert [m.step for m in history] == list(range(1, epochs + 1))
        validated = sorted({e for e in range(1, epochs + 1) if e % val_period(epochs) == 0} | {epochs})
        assert [m.step for m in client.get_metric_history(child.info.run_id, "val/mAP50-95")] == validated
        assert client.list_artifacts(child.info.run_id, "logs")  # ultralytics' output, not the terminal
    # the registered detector: signature, input example; champion only when an arm beats real
    model_info = mlflow.models.get_model_info(f"models:/{name}/{version}")
    assert model_info.signature.inputs.input_names() == ["image_path"]
    assert "score" in model_info.signature.outputs.input_names()
    assert model_info.saved_input_example_info is not None
    from eval.run_page import champion_arm

    aliases = client.get_registered_model(name).aliases
    assert ("champion" in aliases) == (champion_arm(report) is not None)

    # a rerun reuses every trained detector (idempotent) and updates the same MLflow runs;
    # saved detections that went missing are predicted again from the weights
    saved = tmp_path / "eval" / "arms" / "real" / "seed0" / "detections.json"
    before = saved.read_bytes()
    saved.unlink()
    again = run_evaluation(config)
    assert saved.read_bytes() == before
    assert again.arm("copypaste").over_test == report.arm("copypaste").over_test
    assert again.parent_run_id == report.parent_run_id
    assert {r.run_id for r in again.runs} == {r.run_id for r in report.runs}
    assert len(client.search_runs([experiment.experiment_id])) == 7
    assert again.registered_model == report.registered_model
    assert [r.metrics for r in again.runs] == [r.metrics for r in report.runs]
    history = client.get_metric_history(children[0].info.run_id, "train/box_loss")
    assert len(history) == int(children[0].data.params["epochs"])  # not logged twice
    # ... but never mixes results of other settings into that folder
    with pytest.raises(DefectforgeError, match="settings.json: this output folder"):
        run_evaluation(config.model_copy(update={"ratio": 2.0}))


def test_strict_refuses_labels_out_of_parity_before_training(toy_dataset, tmp_path,
                                                             mlflow_store):
    """A generated set boxed 12 px past its masks, against tight real boxes: --strict stops
    before any detector trains, naming the arm and the figure."""
    from pipeline.data.coco_reader import read_coco
    from pipeline.data.coco_writer import write_coco
    from pipeline.labels.style import grow_box

    records = read_coco(toy_dataset / "annotations" / "train.json")[8:]
    for record in records:
        record.clean_path = None  # drawn on no image outside the budget (leakage guard)
        for inst in record.instances:
            inst.bbox_xywh = grow_box(inst.mask, (12, 12, 12, 12))
    categories = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "pit"}]
    generated = tmp_path / "generated"
    write_coco(generated / "annotations.json", records, categories, root=toy_dataset)
    config = resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real", "diffusion"], seeds=[0],
        ratio=1.0, test_limit=4, epochs=1, imgsz=64, val_imgsz=96, batch=8, workers=0,
        device="cpu", out_dir=tmp_path / "eval", experiment="toy-strict", jobs=1,
        generated=generated, strict=True,
    )
    with pytest.raises(DefectforgeError, match="diffusion arm: its synthetic labels are out of "
                       "tolerance.*margin"):
        run_evaluation(config)
    assert not (tmp_path / "eval" / "arms" / "real" / "seed0" / "result.json").exists()
    assert (tmp_path / "eval" / "arms" / "diffusion" / "seed0" / "synthetic" /
            "parity.json").is_file()


def test_a_changed_spec_refuses_the_stale_synthetic_set(toy_dataset, tmp_path, mlflow_store):
    """A procedural set recorded under another spec hash is not reused after the spec changed:
    evaluate stops before training, naming the arm's folder and both hashes."""
    from eval.synthetic import SyntheticSet, save_set

    config = resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real", "procedural"], seeds=[0],
        ratio=1.0, test_limit=4, epochs=1, imgsz=64, val_imgsz=96, batch=8, workers=0,
        device="cpu", out_dir=tmp_path / "eval", experiment="toy-stale", jobs=1,
    )
    folder = tmp_path / "eval" / "arms" / "procedural" / "seed0"
    stale = SyntheticSet(folder / "synthetic" / "annotations.json", 8, spec_hash="0123456789abcdef")
    save_set(stale, folder / "synthetic" / "set.json")
    with pytest.raises(DefectforgeError, match=r"procedural arm's set was drawn from defect spec "
                       r"0123456789abcdef, but .*defects.yaml is now [0-9a-f]{16}; delete"):
        run_evaluation(config)
    assert not (tmp_path / "eval" / "arms" / "real" / "seed0" / "result.json").exists()


@pytest.mark.slow
def test_two_synthetic_arms_are_compared_with_each_other(toy_dataset, tmp_path, mlflow_store):
    """With copypaste and procedural, each meets the other (the strongest other synthetic arm):
    a delta paired by seed and one over the test images, in the report, its summary and MLflow."""
    import mlflow
    from mlflow import MlflowClient

    config = resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real", "copypaste", "procedural"],
        seeds=[0], ratio=1.0, test_limit=4, epochs=1, imgsz=64, val_imgsz=96, batch=8, workers=0,
        device="cpu", out_dir=tmp_path / "eval", experiment="toy-rivals", jobs=1,
    )
    report = run_evaluation(config)
    copypaste, procedural = report.arm("copypaste"), report.arm("procedural")
    assert (copypaste.rival, procedural.rival) == ("procedural", "copypaste")
    assert report.arm("real").rival is None
    value = {a: next(r.metrics.coco.map50_95 for r in report.runs if r.arm == a)
             for a in ("copypaste", "procedural")}
    assert copypaste.rival_delta.mean == pytest.approx(value["copypaste"] - value["procedural"])
    boot = copypaste.over_test["rival_delta_coco_map50_95"]
    assert boot.n == 1000 and boot.mean == pytest.approx(-procedural.over_test["rival_delta_coco_map50_95"].mean)
    summary = (tmp_path / "eval" / "report" / "summary.md").read_text()
    assert "## Synthetic arms against each other" in summary and "| copypaste | procedural |" in summary
    mlflow.set_tracking_uri(mlflow_store)
    parent = MlflowClient().get_run(report.parent_run_id)
    assert parent.data.metrics["copypaste/rival_delta_coco_map50_95"] == pytest.approx(
        copypaste.rival_delta.mean)


@pytest.mark.slow
def test_oversample_and_synthetic_first_schedules(toy_dataset, tmp_path, mlflow_store):
    """Ratio 2 at k = 8: oversample lists the real images twice beside 16 synthetic ones for half
    the epochs; synthetic-first pre-trains on the synthetic set alone and fine-tunes from its
    weights on the real images. Both take more steps than real-only, so each is also compared
    with real-only trained for its steps; synthetic-first also with `real-twice`, the real run's
    detector fine-tuned again on the real images."""
    common = dict(real_budget=8, arms=["real", "copypaste"], seeds=[0], ratio=2.0,
                  test_limit=4, epochs=2, imgsz=64, val_imgsz=96, batch=8, workers=0,
                  device="cpu", experiment="toy-schedules", jobs=1)
    over = run_evaluation(resolve_config(str(toy_dataset), "quick", schedule="oversample",
                                         out_dir=tmp_path / "over", **common))
    arm = tmp_path / "over" / "arms" / "copypaste" / "seed0"
    labels = sorted(p.name.split("_")[0] for p in (arm / "yolo" / "labels" / "train").iterdir())
    assert labels.count("s0") == 8 and labels.count("s1") == 8 and labels.count("s2") == 16
    assert over.arm("copypaste").epochs == 1 and over.arm("copypaste").steps == 4
    assert [a.arm for a in over.arms] == ["real", "copypaste", "real-e4"]
    assert over.arm("real-e4").steps == over.arm("copypaste").steps

    first = run_evaluation(resolve_config(str(toy_dataset), "quick", schedule="synthetic-first",
                                          out_dir=tmp_path / "first", **common))
    arm = tmp_path / "first" / "arms" / "copypaste" / "seed0"
    assert len(list((arm / "pretrain" / "yolo" / "labels" / "train").iterdir())) == 16
    assert len(list((arm / "yolo" / "labels" / "train").iterdir())) == 8
    assert (arm / "pretrain" / "detector" / "train" / "weights" / "last.pt").is_file()
    assert "Transferred" in (arm / "train.log").read_text()  # fine-tuned from those weights
    assert first.arm("copypaste").epochs == 2 and first.arm("copypaste").steps == 2 + 2
    assert [a.arm for a in first.arms] == ["real", "copypaste", "real-e4", "real-twice"]
    # real-twice: the real run's own weights fine-tuned once more on the real images
    twice = tmp_path / "first" / "arms" / "real-twice" / "seed0"
    assert len(list((twice / "yolo" / "labels" / "train").iterdir())) == 8
    assert not (twice / "pretrain").exists()
    assert "Transferred" in (twice / "train.log").read_text()
    real_weights = tmp_path / "first" / "arms" / "real" / "seed0" / "detector" / "train" / "weights"
    args = (twice / "detector" / "train" / "args.yaml").read_text()
    assert f"model: {real_weights / 'last.pt'}" in args
    assert first.arm("real-twice").steps == first.arm("copypaste").steps == 2 * first.arm("real").steps
    strongest = max(("real", "real-e4", "real-twice"),
                    key=lambda a: first.arm(a).metrics["coco_map50_95"].mean)
    assert first.arm("copypaste").reference == strongest


@pytest.mark.slow
def test_transform_synthetic_pretrains_on_the_transformed_drawn_set(toy_dataset, tmp_path,
                                                                   mlflow_store):
    """--transform-synthetic: the drawn arm pre-trains on its set passed through the augment
    transform (same count), and the report says so."""
    from mlflow import MlflowClient

    from pipeline.data.coco_reader import read_coco

    report = run_evaluation(resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real", "copypaste"], seeds=[0], ratio=2.0,
        test_limit=4, epochs=1, imgsz=64, val_imgsz=96, batch=8, workers=0, device="cpu",
        experiment="toy-transformed", jobs=1, schedule="synthetic-first", transform_synthetic=True,
        out_dir=tmp_path / "eval"))
    synthetic = tmp_path / "eval" / "arms" / "copypaste" / "seed0" / "synthetic"
    drawn = read_coco(synthetic / "annotations.json")
    transformed = read_coco(synthetic / "transformed" / "annotations.json")
    assert len(drawn) == len(transformed) == 16
    assert all(r.provenance.get("transformed") for r in transformed)
    pretrain = synthetic.parent / "pretrain" / "yolo" / "labels" / "train"
    assert len(list(pretrain.iterdir())) == 16
    summary = (tmp_path / "eval" / "report" / "summary.md").read_text()
    assert "drawn sets passed through the augment transform" in summary
    params = MlflowClient(mlflow_store).get_run(report.parent_run_id).data.params
    assert (params["transform_synthetic"], params["onto"]) == ("True", "clean")


@pytest.mark.slow
def test_the_real_arm_trained_ahead_is_reused_by_the_evaluation(toy_dataset, tmp_path,
                                                                 mlflow_store):
    """`train_real_arm` trains only the real-only arm's seeds (no synthetic set, no MLflow run);
    the evaluation of the same settings then reuses them and trains the rest."""
    import mlflow

    from eval.protocol import train_real_arm

    config = resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real", "copypaste"], seeds=[0, 1],
        ratio=1.0, test_limit=4, epochs=1, imgsz=64, val_imgsz=96, batch=8, workers=0,
        device="cpu", out_dir=tmp_path / "eval", experiment="toy-ahead", jobs=1,
    )
    folders = train_real_arm(config)
    arms = tmp_path / "eval" / "arms"
    assert folders == [arms / "real" / "seed0", arms / "real" / "seed1"]
    assert sorted(p.name for p in arms.iterdir()) == ["real"]
    assert mlflow.MlflowClient(mlflow_store).get_experiment_by_name("toy-ahead") is None
    before = {f: (f / "result.json").read_bytes() for f in folders}

    report = run_evaluation(config)
    assert {f: (f / "result.json").read_bytes() for f in folders} == before
    assert [a.arm for a in report.arms] == ["real", "copypaste"]
    assert (arms / "copypaste" / "seed1" / "result.json").is_file()


@pytest.mark.slow
def test_the_real_arm_ahead_trains_the_controls_once_the_evaluation_planned_them(
        toy_dataset, tmp_path, mlflow_store):
    """Given an event, `train_real_arm` then trains the real-only controls of the evaluation's
    plan, last seed first; the evaluation plans the same controls and reuses them."""
    import threading
    import time

    from eval.protocol import PLANNED_CONTROLS, RESULT, train_real_arm

    config = resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real", "copypaste"], seeds=[0, 1],
        ratio=1.0, test_limit=4, epochs=2, imgsz=64, val_imgsz=96, batch=8, workers=0,
        device="cpu", out_dir=tmp_path / "eval", experiment="toy-ahead-controls", jobs=1,
    )
    arms = tmp_path / "eval" / "arms"
    plan_file = tmp_path / "eval" / PLANNED_CONTROLS
    plan_file.parent.mkdir()
    started = time.time() - 60
    plan_file.write_text('["real-e1"]')
    folders = train_real_arm(config, threading.Event(), planned_after=started)
    assert folders == [arms / "real" / "seed0", arms / "real" / "seed1",
                       arms / "real-e1" / "seed1", arms / "real-e1" / "seed0"]
    before = {f: (f / RESULT).read_bytes() for f in folders}

    report = run_evaluation(config)
    assert json.loads(plan_file.read_text()) == ["real-e1"]
    assert [a.arm for a in report.arms] == ["real", "copypaste", "real-e1"]
    assert {f: (f / RESULT).read_bytes() for f in folders} == before


def test_an_earlier_evaluations_plan_is_not_taken_for_this_ones(tmp_path):
    """`planned_controls` takes a plan written after `planned_after` and waits past an older
    one until the evaluation is over (then: no controls)."""
    import threading

    from eval.protocol import PLANNED_CONTROLS, planned_controls

    plan_file = tmp_path / PLANNED_CONTROLS
    plan_file.write_text('["real-e37"]')
    written = plan_file.stat().st_mtime
    assert planned_controls(tmp_path, threading.Event(), planned_after=written) == ["real-e37"]
    over = threading.Event()
    threading.Timer(1.0, over.set).start()
    assert planned_controls(tmp_path, over, planned_after=written + 1) == []
    assert over.is_set()


@pytest.fixture
def one_real_run(toy_dataset, tmp_path):
    """A toy evaluation's context, its one planned real-only run and that run's (new) folder."""
    from eval.protocol import evaluation_context, plan_runs, run_folder

    config = resolve_config(
        str(toy_dataset), "quick", real_budget=8, arms=["real"], seeds=[0], test_limit=4,
        epochs=1, imgsz=64, val_imgsz=96, batch=8, workers=0, device="cpu",
        out_dir=tmp_path / "eval", jobs=1,
    )
    ctx = evaluation_context(config)
    [run] = plan_runs(ctx)
    folder = run_folder(ctx, run.arm, run.seed)
    folder.mkdir(parents=True)
    return ctx, run, folder


def test_a_run_another_process_is_training_is_left_to_it_when_not_waiting(one_real_run):
    """`train_one(wait=False)` on a run whose lock another process holds returns False at once
    and trains nothing."""
    from filelock import FileLock

    from eval.protocol import RUN_LOCK, train_one

    ctx, run, folder = one_real_run
    with FileLock(folder / RUN_LOCK):
        assert train_one(ctx, run, wait=False) is False
    assert sorted(p.name for p in folder.iterdir()) == [RUN_LOCK]


def test_a_run_another_process_is_training_is_waited_for_not_trained_again(one_real_run):
    """While another process holds a run's lock, `train_one` waits; when that process leaves a
    result, it returns without training (the run folder gets no detector)."""
    import threading

    from filelock import FileLock

    from eval.protocol import RESULT, RUN_LOCK, train_one

    ctx, run, folder = one_real_run
    lock = FileLock(folder / RUN_LOCK)
    with lock:
        waiting = threading.Thread(target=train_one, args=(ctx, run))
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive() and not (folder / RESULT).exists()
        (folder / RESULT).write_text('{"trained": "elsewhere"}')
    waiting.join(timeout=60)
    assert not waiting.is_alive()
    assert (folder / RESULT).read_text() == '{"trained": "elsewhere"}'
    assert not (folder / "detector").exists()
