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
