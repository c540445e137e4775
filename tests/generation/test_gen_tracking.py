"""Training losses reach MLflow through accelerate's tracker when asked (and only then)."""

import pytest

from pipeline.train import TrainConfig, train_on_data


@pytest.mark.slow
def test_gen_training_logs_losses_to_mlflow(tmp_path, monkeypatch, toy, kit):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)  # an earlier test in this process may have set another store
    cfg = TrainConfig(model=kit.tiny, base_steps=2, control_steps=2, batch_size=4, clean_crops=8, log_with="mlflow")
    train_on_data(toy, tmp_path / "m", cfg, progress=False)
    client = mlflow.tracking.MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("defectforge-train").experiment_id])
    assert len(client.get_metric_history(run.info.run_id, "base/loss")) == 2
    assert len(client.get_metric_history(run.info.run_id, "control/loss")) == 2
    assert run.data.params["base_steps"] == "2"
