"""Test session set-up: offline flags, tool state under runs/test-state, outputs in a temp folder."""

import os
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DEFECTFORGE_STATE", str(PROJECT_ROOT / "runs" / "test-state"))
os.environ.setdefault("DEFECTFORGE_RUNS", tempfile.mkdtemp(prefix="defectforge-test-runs-"))

from pipeline.offline import configure_offline_environment  # noqa: E402

configure_offline_environment()
