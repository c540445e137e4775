"""The generation commands are wired: train prints its defaults, generate and realism have help."""

from typer.testing import CliRunner

from flows.cli import app


def test_gen_cli_train_shows_every_default():
    result = CliRunner().invoke(app, ["train", "--dataset", "sample", "--show-config"])
    assert result.exit_code == 0
    assert "base_steps = 600" in result.output and "block_out_channels" in result.output


def test_gen_cli_generate_and_realism_have_help():
    for command in ("generate", "realism"):
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--out" in result.output
