"""Make every process offline-safe and keep all tool state under the project.

Called by the CLI entry point, the Prefect flows and the tests before heavy libraries are
imported. Each variable is only set when the user has not set it already.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipeline.paths import state_root

OFFLINE_FLAGS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "YOLO_OFFLINE": "1",
    "YOLO_AUTOINSTALL": "false",
    "ULTRALYTICS_SAFE_LOAD": "1",  # .pt files: weights_only unpickling, no code from data files
    "MPLBACKEND": "Agg",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
    "PREFECT_RESULTS_DEFAULT_SERIALIZER": "json",  # no pickled results anywhere
    "TOKENIZERS_PARALLELISM": "false",
}


def configure_offline_environment() -> Path:
    """Set offline flags and point every tool's state folder under the project's state root."""
    root = state_root()
    for key, value in OFFLINE_FLAGS.items():
        os.environ.setdefault(key, value)
    state_dirs = {
        "YOLO_CONFIG_DIR": root / "ultralytics",
        "MPLCONFIGDIR": root / "matplotlib",
        "PREFECT_HOME": root / "prefect",
        "HF_HOME": root / "huggingface",
        "DASK_TEMPORARY_DIRECTORY": root / "dask",
        "TORCH_HOME": root / "torch",
    }
    for key, path in state_dirs.items():
        os.environ.setdefault(key, str(path))
        Path(os.environ[key]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    _install_ultralytics_font(Path(os.environ["YOLO_CONFIG_DIR"]))
    return root


def _install_ultralytics_font(config_dir: Path) -> None:
    """ultralytics downloads Arial.ttf for its plots unless a font is already there."""
    target = config_dir / "Ultralytics" / "Arial.ttf"
    if target.exists():
        return
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
