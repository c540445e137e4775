"""Generator backends behind one interface: `compact` (in-project, CPU) and `sd15` (pretrained)."""

from __future__ import annotations

from pathlib import Path

from conditioning.errors import DefectforgeError
from pipeline.models.base import CropBatch, GeneratorBackend, model_revision, read_model_meta
from pipeline.models.weights_check import check_safetensors

BACKENDS = ("compact", "sd15")


def create_backend(name: str, classes: list[str], config: dict | None = None) -> GeneratorBackend:
    """A fresh (untrained or pretrained-base) backend of kind `name`."""
    if name == "compact":
        from pipeline.models.compact import CompactBackend

        return CompactBackend.create(classes, config or {})
    if name == "sd15":
        from pipeline.models.sd15 import SD15Backend

        return SD15Backend.create(classes, config or {})
    raise DefectforgeError(f"backend: unknown value {name!r}; choose one of {', '.join(BACKENDS)}.")


def load_backend(path: str | Path) -> GeneratorBackend:
    """Load a saved generator folder (any backend)."""
    meta = read_model_meta(Path(path))
    if meta["backend"] not in BACKENDS:
        raise DefectforgeError(
            f"{path}: backend {meta['backend']!r} unknown; choose one of {BACKENDS}."
        )
    check_safetensors(Path(path))
    if meta["backend"] == "compact":
        from pipeline.models.compact import CompactBackend

        loader = CompactBackend.load
    else:
        from pipeline.models.sd15 import SD15Backend

        loader = SD15Backend.load
    try:
        return loader(Path(path))
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise DefectforgeError(
            f"{path}: cannot load the {meta['backend']} model ({type(error).__name__}: {error}); "
            "retrain it or restore its files"
        ) from None


__all__ = ["BACKENDS", "CropBatch", "GeneratorBackend", "create_backend", "load_backend", "model_revision"]
