"""Hostile spec files: each is a located `SpecError`, never a traceback, a hang or a foreign read."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conditioning.errors import DefectforgeError
from conditioning.spec import Region, load_library
from conditioning.spec_errors import SpecError

GOOD = """\
product: pcb
classes: [open, short]
min_distance: 4
defects:
  - name: trace-open
    class: open
    kind: open
    shape: {gap: [2, 5]}
    count: [0, 2]
    prompt: a broken trace
"""


def only_problem(path) -> str:
    with pytest.raises(SpecError) as caught:
        load_library(path)
    [problem] = caught.value.problems
    assert str(problem).startswith(f"{path}:{problem.line}:{problem.column}: ")
    return str(problem)


def write_bytes(tmp_path, data: bytes, name: str = "defects.yaml"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (GOOD.encode("utf-16"), ":1:1: ", "UTF-16"),
        ((GOOD + "# caf\xe9\n").encode("latin-1"), ":11:6: ", "byte 0xe9 is not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", ":1:1: ", "is not UTF-8"),
        (GOOD.encode() + b"junk: x\x00\n", ":11:8: ", "NUL byte"),
    ],
)
def test_undecodable_bytes_are_located(tmp_path, data, where, message):
    text = only_problem(write_bytes(tmp_path, data))
    assert where in text and message in text


@pytest.mark.parametrize(
    "tail",
    [
        "junk: &r {a: *r}\n",  # looped for ever in duplicate_keys
        "junk: &r [1, *r]\n",  # grew without bound
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n",
    ],
)
def test_aliases_are_refused(tmp_path, tail):
    text = only_problem(write_bytes(tmp_path, (GOOD + tail).encode()))
    assert ":11:" in text or ":12:" in text
    assert "alias `*" in text and "not allowed" in text


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_capped(tmp_path, opening):
    closing = "]" if opening == "[" else "}"
    tail = "junk: " + opening * 5000 + "1" + closing * 5000 + "\n"
    assert "nested deeper than" in only_problem(write_bytes(tmp_path, (GOOD + tail).encode()))


def test_huge_file_is_refused_before_parsing(tmp_path):
    text = GOOD.replace("prompt: a", "prompt: " + "x" * 300_000)
    assert ":1:1: file is larger than" in only_problem(write_bytes(tmp_path, text.encode()))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kind: open", "kind: [open]", "defects[0].kind: Input should be a valid string"),
        ("name: trace-open", "name: [a]", "defects[0].name: Input should be a valid string"),
        ("min_distance: 4", "min_distance: !!float abc", "cannot read 'abc'"),
        ("min_distance: 4", "min_distance: .nan", "min_distance: Input should be a finite number"),
        ("gap: [2, 5]", "gap: [2, .inf]", "shape.gap.max: Input should be a finite number"),
        ("min_distance: 4", "min_distance: '5'", "min_distance: Input should be a valid number"),
        ("min_distance: 4", "min_distance: true", "min_distance: Input should be a valid number"),
        ("count: [0, 2]", "count: [1000000000, 1000000000]", "expected at most 1000 instances"),
        ("gap: [2, 5]", "gap: [2, 1.0e+300]", "expected pixels <= 4096"),
        ("min_distance: 4", "min_distance: 100000", "less than or equal to 4096"),
        ("prompt: a", "prompt: " + "x" * 3000, "at most 2000 characters"),
        ("product: pcb", "product: !!binary aGk=", "tag `tag:yaml.org,2002:binary` is not allowed"),
    ],
)
def test_bad_values_are_located_errors(tmp_path, old, new, message):
    assert old in GOOD
    assert message in only_problem(write_bytes(tmp_path, GOOD.replace(old, new).encode()))


def _with_region(mask: str) -> bytes:
    text = GOOD.replace("defects:\n", f"regions:\n  r: {{mask: '{mask}'}}\ndefects:\n")
    return text.replace("count: [0, 2]", "count: [0, 2]\n    placement: {regions: [r]}").encode()


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        ("../../../../etc/passwd", "`..` in"),
        ("/dev/zero", "absolute path `/dev/zero`"),
        ("/proc/self/environ", "absolute path"),
        ("missing.png", "not found"),
        ("defects.yaml", "cannot be decoded as an image"),
        ("outside.png", "resolves outside the spec's folder"),
    ],
)
def test_region_masks_must_be_images_inside_the_spec_folder(tmp_path, mask, message):
    folder = tmp_path / "line"
    folder.mkdir()
    secret = tmp_path / "secret.png"
    cv2.imwrite(str(secret), np.full((8, 8), 255, np.uint8))
    (folder / "outside.png").symlink_to(secret)
    text = only_problem(write_bytes(folder, _with_region(mask)))
    assert "regions.r.mask: " in text and message in text


def test_a_good_region_mask_loads_and_changes_the_hash(tmp_path):
    cv2.imwrite(str(tmp_path / "board.png"), np.full((8, 8), 255, np.uint8))
    path = write_bytes(tmp_path, _with_region("board.png"))
    first = load_library(path).content_hash
    cv2.imwrite(str(tmp_path / "board.png"), np.zeros((8, 8), np.uint8))
    assert load_library(path).content_hash != first


def test_hash_refuses_a_mask_outside_the_folder_of_a_library_built_in_code(tmp_path):
    library = load_library(write_bytes(tmp_path, GOOD.encode()))
    library.regions["r"] = Region.model_validate({"mask": "../../etc/passwd"})
    with pytest.raises(DefectforgeError, match="leaves the spec's folder"):
        _ = library.content_hash
