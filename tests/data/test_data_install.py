"""A non-editable install works from any folder: the built wheel holds every module and the
bundled lines, and `data init` + `data prepare` run from outside the project with the code
imported from the wheel, not the source tree."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipeline.paths import PROJECT_ROOT

PACKAGES = ("conditioning", "pipeline", "eval", "flows")


def _build_wheel(tmp_path: Path) -> Path:
    """`pip wheel` (no build isolation: offline) on a copy of the source tree."""
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "runs", ".venv", "build")
    for name in (*PACKAGES, "datasets"):
        shutil.copytree(PROJECT_ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist"), str(source)],
                           check=True, capture_output=True, text=True)
    assert "BuildBackendWarning" not in built.stdout + built.stderr, built.stderr  # pyproject up to date
    return next((tmp_path / "dist").glob("defectforge-*.whl"))


@pytest.mark.slow
def test_wheel_install_runs_init_and_prepare_outside_the_project(tmp_path, raw_sources):
    wheel = _build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    # 1. every module of the source tree and every bundled line file is in the wheel
    modules = {p.relative_to(PROJECT_ROOT).as_posix() for pkg in PACKAGES for p in (PROJECT_ROOT / pkg).rglob("*.py")}
    assert modules - names == set()
    lines = {"defectforge_datasets/" + p.relative_to(PROJECT_ROOT / "datasets").as_posix()
             for p in (PROJECT_ROOT / "datasets").rglob("*") if p.suffix in (".yaml", ".json")}
    assert lines - names == set() and "flows/prefect.yaml" in names
    # 2. the wheel's code, run from a folder outside the project, with no project env variables
    site, work = tmp_path / "site", tmp_path / "work"
    zipfile.ZipFile(wheel).extractall(site)
    raw_sources.folder_beside(work / "raw")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFECTFORGE_")}
    env["PYTHONPATH"] = str(site)

    def cli(*args):
        done = subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=work, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    where = subprocess.run([sys.executable, "-c", "import pipeline.paths as p; print(p.__file__, p.SOURCE_CHECKOUT)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)) and where.strip().endswith("False")
    campaign = subprocess.run(
        [sys.executable, "-c", "from pathlib import Path; from flows.campaign_config import project_path; "
         "print(project_path(Path('datasets/campaigns/sample-nightly.yaml')).is_file())"],
        cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    assert campaign.strip() == "True"  # README paths under datasets/ reach the bundled copies
    assert "recognised raw as `folder`" in cli("data", "init", "grey", "--source", "raw")
    assert (work / "datasets" / "grey" / "dataset.yaml").is_file()  # ./datasets of the working folder
    assert "ok datasets/grey/defects.yaml" in cli("spec", "check", "datasets/grey/defects.yaml", "--dataset", "grey")
    assert "train: " in cli("data", "prepare", "grey", "--workers", "1")
    assert (work / "runs" / "data" / "grey" / "manifest.json").is_file()  # ./runs of the working folder
    listed = cli("data", "list")
    assert all(name in listed for name in ("grey", "sample", "deeppcb"))  # bundled lines come with the wheel
