"""Schedules and servers: `defectforge servers` starts real local Prefect and MLflow servers;
`defectforge serve` registers the nightly deployment there; its cron comes back through the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.serve import PREFECT_YAML, read_deployment_specs


def test_flow_prefect_yaml_declares_cron_deployments():
    specs = {spec["name"]: spec for spec in read_deployment_specs(PREFECT_YAML)}
    assert specs["sample-nightly"]["schedules"][0]["cron"] == "0 2 * * *"
    for spec in specs.values():
        assert (Path(__file__).parents[2] / spec["parameters"]["config_file"]).exists()


def _wait_for_line(process: subprocess.Popen, marker: str, timeout: float = 180.0) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if marker in line:
            return lines
    pytest.fail(f"no {marker!r} in the output of {process.args}:\n{''.join(lines)}")


def _read_deployment(api: str, name: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(f"{api}/deployments/name/campaign/{name}", timeout=5)
        if response.status_code == 200:
            return response.json()
        time.sleep(1)
    pytest.fail(f"deployment campaign/{name} never appeared at {api}")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_flow_servers_and_serve_register_the_cron_schedule(tmp_path, free_port):
    env = {**os.environ, "DEFECTFORGE_STATE": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1"}
    for key in ("PREFECT_API_URL", "PREFECT_HOME", "MLFLOW_TRACKING_URI"):
        env.pop(key, None)
    mlflow_port = free_port + 1 if free_port < 65000 else free_port - 1
    cli = [sys.executable, "-m", "flows.cli"]
    servers = subprocess.Popen(
        [*cli, "servers", "--prefect-port", str(free_port), "--mlflow-port", str(mlflow_port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    serving = None
    try:
        # 1. both servers answer; the command prints what to export
        output = "".join(_wait_for_line(servers, "MLFLOW_TRACKING_URI="))
        api = f"http://127.0.0.1:{free_port}/api"
        assert f"export PREFECT_API_URL={api}" in output
        assert httpx.get(f"http://127.0.0.1:{mlflow_port}/health", timeout=10).status_code == 200
        assert (tmp_path / "state" / "mlflow.db").is_file()
        # 2. `defectforge serve` registers the nightly deployment with its cron schedule
        serving = subprocess.Popen(
            [*cli, "serve", "--name", "sample-nightly"], env={**env, "PREFECT_API_URL": api},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deployment = _read_deployment(api, "sample-nightly")
        assert [item["schedule"]["cron"] for item in deployment["schedules"]] == ["0 2 * * *"]
        assert deployment["schedules"][0]["schedule"]["timezone"] == "UTC"
        assert deployment["parameters"] == {"config_file": "datasets/campaigns/sample-nightly.yaml"}
    finally:
        _stop(serving)
        _stop(servers)
    assert servers.returncode is not None
