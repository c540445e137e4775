"""The leakage guard fails loudly on a planted test image."""

import shutil

import cv2
import pytest

from conditioning.errors import DefectforgeError
from eval.leakage import LeakageGuard, pixel_hash


def test_planted_test_image_is_caught_by_pixels(toy_dataset, tmp_path):
    test_images = sorted((toy_dataset / "images" / "test").glob("*.png"))
    train_images = sorted((toy_dataset / "images" / "train").glob("*.png"))
    guard = LeakageGuard(test_images, allowed_inputs=train_images)
    assert guard.check_no_test(train_images, "training") == len(train_images)
    # a renamed, re-encoded copy of a test image (same pixels, other bytes) is still a leak
    planted = tmp_path / "innocent_name.bmp"
    cv2.imwrite(str(planted), cv2.imread(str(test_images[3])))
    assert pixel_hash(planted) == pixel_hash(test_images[3])
    with pytest.raises(DefectforgeError, match="innocent_name.bmp.*test image"):
        guard.check_no_test([*train_images, planted], "training")


def test_inputs_must_come_from_the_budget(toy_dataset, tmp_path):
    train = sorted((toy_dataset / "images" / "train").glob("*.png"))
    guard = LeakageGuard(sorted((toy_dataset / "images" / "test").glob("*.png")), train[:4])
    assert guard.check_inputs(train[:4], "copy-paste arm") == 4
    with pytest.raises(DefectforgeError, match="not one of the k real"):
        guard.check_inputs([train[5]], "generator")
    leaked = tmp_path / "background.png"
    shutil.copy(toy_dataset / "images" / "test" / "test000.png", leaked)
    with pytest.raises(DefectforgeError, match="same pixels as test image"):
        guard.check_inputs([leaked], "generator")


COPIES = {
    "jpeg q95": (".jpg", lambda image: image, 95),
    "jpeg q75": (".jpg", lambda image: image, 75),
    "jpeg q50": (".jpg", lambda image: image, 50),
    "resized to half": (".png", lambda image: cv2.resize(image, (48, 48), interpolation=cv2.INTER_AREA), 0),
    "resized to 3/4, jpeg q75": (".jpg", lambda image: cv2.resize(image, (72, 72)), 75),
}  # fmt: skip
"""Copies of a test image that are still that image: (suffix, change, JPEG quality). On these
noisy toy boards their thumbnails differ by up to 1.28, another board's by at least 2.2 (see
`eval.leakage`); q50 and the 3/4 resize passed the previous threshold (1.0)."""


@pytest.mark.parametrize("copy_kind", sorted(COPIES))
def test_a_re_encoded_or_resized_test_image_is_caught(toy_dataset, tmp_path, copy_kind):
    test_images = sorted((toy_dataset / "images" / "test").glob("*.png"))
    train_images = sorted((toy_dataset / "images" / "train").glob("*.png"))
    guard = LeakageGuard(test_images, allowed_inputs=train_images)
    suffix, change, quality = COPIES[copy_kind]
    copy = (tmp_path / "holiday_photo").with_suffix(suffix)
    cv2.imwrite(str(copy), change(cv2.imread(str(test_images[2]))),
                [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix == ".jpg" else [])  # fmt: skip
    assert pixel_hash(copy) != pixel_hash(test_images[2])  # the exact hash alone misses it
    with pytest.raises(DefectforgeError, match="holiday_photo.*near-duplicate of test image"):
        guard.check_no_test([*train_images, copy], "training")


def test_other_boards_are_not_near_duplicates(larger_toy_dataset):
    """Every defective and clean training board against the test boards (trace layouts shared
    among them): none is flagged."""
    root = larger_toy_dataset
    guard = LeakageGuard(sorted((root / "images" / "test").glob("*.png")))
    others = [*sorted((root / "images" / "train").glob("*.png")),
              *sorted((root / "clean" / "train").glob("*.png"))]  # fmt: skip
    assert guard.check_no_test(others, "training") == len(others) == 240
