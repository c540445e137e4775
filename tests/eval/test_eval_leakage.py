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


@pytest.mark.parametrize("quality", [95, 75])
def test_a_jpeg_re_encoded_test_image_is_caught(toy_dataset, tmp_path, quality):
    test_images = sorted((toy_dataset / "images" / "test").glob("*.png"))
    train_images = sorted((toy_dataset / "images" / "train").glob("*.png"))
    guard = LeakageGuard(test_images, allowed_inputs=train_images)
    copy = tmp_path / "holiday_photo.jpg"
    cv2.imwrite(str(copy), cv2.imread(str(test_images[2])), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert pixel_hash(copy) != pixel_hash(test_images[2])  # the exact hash alone misses it
    with pytest.raises(DefectforgeError, match="holiday_photo.jpg.*near-duplicate of test image"):
        guard.check_no_test([*train_images, copy], "training")
    clean = sorted((toy_dataset / "clean" / "train").glob("*.png"))
    assert guard.check_no_test(clean, "training") == len(clean)  # other boards are not flagged
