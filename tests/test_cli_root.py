"""The root command line: help lists every area, info prints the configured folders."""

from typer.testing import CliRunner

from flows.cli import app


def test_help_lists_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "info" in result.output


def test_info_prints_runs_and_state(monkeypatch, tmp_path):
    monkeypatch.setenv("DEFECTFORGE_RUNS", str(tmp_path))
    result = CliRunner().invoke(app, ["info"])
    assert result.exit_code == 0
    assert str(tmp_path) in result.output


def test_datasets_search_path_and_datasets_dir(monkeypatch, tmp_path):
    from pipeline.data.registry import dataset_dir, list_datasets

    first, second = tmp_path / "team-a", tmp_path / "team-b"
    for root, name in ((first, "alpha"), (second, "beta")):
        (root / name).mkdir(parents=True)
        (root / name / "dataset.yaml").write_text(f"name: {name}\n")
    monkeypatch.setenv("DEFECTFORGE_DATASETS", f"{first}:{second}")
    assert {"alpha", "beta", "sample", "deeppcb"} <= set(list_datasets())  # bundled lines stay visible
    assert dataset_dir("beta") == second / "beta" and dataset_dir("new") == first / "new"
    result = CliRunner().invoke(app, ["--datasets-dir", str(tmp_path / "own"), "info"])
    assert result.exit_code == 0 and f"datasets   {tmp_path / 'own'}:{first}:{second}" in result.output


def test_thread_count_follows_idle_cores(monkeypatch):
    from pipeline.threads import configure_threads, idle_cores

    assert idle_cores(2, 1.9) == 1 and idle_cores(2, 9.0) == 1 and idle_cores(16, 0.2) == 16
    assert idle_cores(8, 3.4) == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert configure_threads() == 3  # the user's choice wins
