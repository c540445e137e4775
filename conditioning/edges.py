"""Edge maps through controlnet-aux, aligned pixel-for-pixel with the image at its native size."""

from __future__ import annotations

import inspect
import warnings
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from conditioning.errors import DefectforgeError

WEIGHT_FREE = {"canny": "CannyDetector", "lineart_standard": "LineartStandardDetector"}
"""Detectors that need no weights."""
NEEDS_WEIGHTS = {
    "hed": ("HEDdetector", "ControlNetHED.pth"),
    "pidinet": ("PidiNetDetector", "table5_pidinet.pth"),
    "lineart": ("LineartDetector", "sk_model.pth"),
    "mlsd": ("MLSDdetector", "mlsd_large_512_fp32.pth"),
    "teed": ("TEEDdetector", "7_model.pth"),
}
"""Detectors that load weights from a local folder (the hub is unreachable offline): class, file."""
DETECTORS = sorted([*WEIGHT_FREE, *NEEDS_WEIGHTS])
BLOCK = 64
"""controlnet-aux rounds sizes to multiples of this; images are padded to it, then cropped back."""


def edge_map(
    image: np.ndarray,
    detector: str = "canny",
    *,
    weights_dir: str | Path | None = None,
    low_threshold: int = 100,
    high_threshold: int = 200,
) -> np.ndarray:
    """HxW uint8 edge map of an HxWx3 uint8 RGB image, at the image's own size.

    The image is padded (edge replicate) to multiples of 64 and the detector runs at exactly that
    size, so its internal resize is the identity; the result is cropped back to HxW."""
    run = _detector(detector, None if weights_dir is None else str(weights_dir))
    h, w = image.shape[:2]
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    padded = cv2.copyMakeBorder(
        np.ascontiguousarray(rgb, np.uint8), 0, -h % BLOCK, 0, -w % BLOCK, cv2.BORDER_REPLICATE
    )
    size = min(padded.shape[:2])
    options = {
        "detect_resolution": size,
        "image_resolution": size,
        "output_type": "np",
        "low_threshold": low_threshold,
        "high_threshold": high_threshold,
    }
    accepted = inspect.signature(run.__call__).parameters
    result = np.asarray(run(padded, **{k: v for k, v in options.items() if k in accepted}))
    if result.ndim == 3:
        result = result[:, :, 0]
    if result.shape != padded.shape[:2]:
        result = cv2.resize(result, padded.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(result[:h, :w]).astype(np.uint8)


@lru_cache(maxsize=4)
def _detector(name: str, weights_dir: str | None):
    if name not in WEIGHT_FREE and name not in NEEDS_WEIGHTS:
        raise DefectforgeError(
            f"unknown edge detector `{name}`: choose one of {', '.join(DETECTORS)}"
        )
    if name in NEEDS_WEIGHTS and weights_dir is None:
        raise DefectforgeError(
            f"edge detector `{name}` needs its weights ({NEEDS_WEIGHTS[name][1]}) in a local folder "
            "(the hub is offline): pass weights_dir / --edge-weights DIR, or use `canny` or "
            "`lineart_standard`, which need none"
        )
    with warnings.catch_warnings():  # its import warns about optional extras we do not use
        warnings.simplefilter("ignore")
        import controlnet_aux  # slow import (seconds): only when an edge map is asked for

    if name in WEIGHT_FREE:
        return getattr(controlnet_aux, WEIGHT_FREE[name])()
    cls_name, filename = NEEDS_WEIGHTS[name]
    path = Path(weights_dir) / filename
    if not path.is_file():
        raise DefectforgeError(
            f"edge detector `{name}`: weights file {path} not found; put {filename} "
            f"(from lllyasviel/Annotators) in {weights_dir}"
        )
    return getattr(controlnet_aux, cls_name).from_pretrained(weights_dir, filename=filename)
