"""The leakage guard's near-duplicate threshold, measured on a prepared dataset.

    python -m eval.bench_leakage --data runs/data/deeppcb --copies 200

On the guard's 32x32 grey thumbnails (mean absolute difference, 0..255), prints the distance to
the nearest *distinct* image (each training image and clean template to the test images; test to
test; train to train) and, for `--copies` sampled test images, the distance of each kind of copy
(JPEG re-encodes, resizes) and edit (brightness, shift, crop) to its original, with the share
under `NEAR_DUPLICATE`.
Reads the dataset only; the copies go to a temporary folder.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from eval.leakage import NEAR_DUPLICATE, thumbnail

Change = Callable[[np.ndarray], np.ndarray]


def _scaled(factor: float, interpolation: int) -> Change:
    def change(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        return cv2.resize(image, (round(width * factor), round(height * factor)),
                          interpolation=interpolation)  # fmt: skip

    return change


def _crop_back(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image[8:-8, 8:-8], image.shape[1::-1], interpolation=cv2.INTER_LINEAR)


COPIES: dict[str, tuple[str, Change, int]] = {
    "copy: JPEG q95": (".jpg", lambda image: image, 95),
    "copy: JPEG q75": (".jpg", lambda image: image, 75),
    "copy: JPEG q50": (".jpg", lambda image: image, 50),
    "copy: JPEG q25": (".jpg", lambda image: image, 25),
    "copy: resized to 1/2 (area)": (".png", _scaled(0.5, cv2.INTER_AREA), 0),
    "copy: resized to 3/4 (linear), JPEG q75": (".jpg", _scaled(0.75, cv2.INTER_LINEAR), 75),
    "copy: resized to 3/2 (cubic)": (".png", _scaled(1.5, cv2.INTER_CUBIC), 0),
    "edit: brightness +10": (".png", lambda image: cv2.add(image, 10), 0),
    "edit: shifted 2 px": (".png", lambda image: np.roll(image, 2, axis=1), 0),
    "edit: 8 px border cropped, resized back": (".png", _crop_back, 0),
}  # fmt: skip
"""(suffix, change, JPEG quality) of each measured variant of a test image."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a prepared dataset folder")
    parser.add_argument("--copies", type=int, default=200, help="test images to copy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    split = {name: sorted((args.data / folder).glob("*.png")) for name, folder in (
        ("train", "images/train"), ("clean", "clean/train"), ("test", "images/test"))}  # fmt: skip
    thumbs = {name: np.stack([thumbnail(p).ravel() for p in paths]) for name, paths in split.items()}
    rows = {
        "distinct: train image -> nearest test image": _nearest(thumbs["train"], thumbs["test"]),
        "distinct: clean template -> nearest test image": _nearest(thumbs["clean"], thumbs["test"]),
        "distinct: test image -> nearest other test image": _nearest(thumbs["test"], thumbs["test"],
                                                                     exclude_self=True),
        "distinct: train image -> nearest other train image": _nearest(
            thumbs["train"], thumbs["train"], exclude_self=True),
    }  # fmt: skip
    sample = random.Random(args.seed).sample(range(len(split["test"])), min(args.copies, len(split["test"])))
    with tempfile.TemporaryDirectory(prefix="bench-leakage-") as scratch:
        for name, variant in COPIES.items():
            rows[name] = np.array([
                _variant_distance(split["test"][i], thumbs["test"][i], variant, Path(scratch) / name)
                for i in sample])  # fmt: skip
    print(f"{args.data}: {len(split['train'])} train, {len(split['clean'])} clean, "
          f"{len(split['test'])} test images; NEAR_DUPLICATE = {NEAR_DUPLICATE}")  # fmt: skip
    print("| pair | n | min | 1 % | median | max | under the threshold |")
    print("|---|---|---|---|---|---|---|")
    for name, values in rows.items():
        share = 100 * float(np.mean(values < NEAR_DUPLICATE))
        print(f"| {name} | {len(values)} | {values.min():.2f} | {np.percentile(values, 1):.2f} | "
              f"{np.median(values):.2f} | {values.max():.2f} | {share:.1f} % |")  # fmt: skip


def _nearest(images: np.ndarray, others: np.ndarray, exclude_self: bool = False) -> np.ndarray:
    distances = []
    for index, image in enumerate(images):
        row = np.abs(others - image).mean(axis=1)
        if exclude_self:
            row[index] = np.inf
        distances.append(row.min())
    return np.array(distances)


def _variant_distance(path: Path, thumb: np.ndarray, variant: tuple[str, Change, int], scratch: Path) -> float:
    suffix, change, quality = variant
    copy = (scratch / path.stem).with_suffix(suffix)  # one file per copy: thumbnails are cached
    copy.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(copy), change(cv2.imread(str(path))),
                [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix == ".jpg" else [])  # fmt: skip
    return float(np.abs(thumbnail(copy).ravel() - thumb).mean())


if __name__ == "__main__":
    main()
