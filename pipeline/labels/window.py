"""The window of an image a mask occupies: label statistics read only those pixels (a 640 px
DeepPCB image holds a few defects of a few hundred pixels each)."""

from __future__ import annotations

import cv2
import numpy as np


def mask_window(mask: np.ndarray) -> tuple[np.ndarray, tuple[slice, slice]]:
    """(the mask cropped to its tight box, the (rows, cols) slices of that box in the image);
    an empty mask gives an empty crop."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    window = (slice(y, y + h), slice(x, x + w))
    return mask[window], window
