"""The test-image bootstrap reproduces COCOeval exactly and pairs its draws across arms."""

import json

import numpy as np
import pytest

from eval.bootstrap import average_precision, average_precisions, bootstrap, coco_matches
from eval.coco_metrics import coco_evaluate


@pytest.fixture
def test_split(toy_dataset):
    path = toy_dataset / "annotations" / "test.json"
    return path, json.loads(path.read_text())


def test_unit_weights_give_cocoeval_map(noisy_detections, test_split):
    path, gt = test_split
    detections = noisy_detections(gt, 0)
    coco = coco_evaluate(path, detections)
    map50, map50_95 = average_precision(coco_matches(path, detections), np.ones(len(gt["images"])))
    assert 0.1 < coco.map50_95 < 0.95
    assert map50 == pytest.approx(coco.map50, abs=1e-9)
    assert map50_95 == pytest.approx(coco.map50_95, abs=1e-9)


def test_crowd_ground_truth_is_ignored_as_cocoeval_does(noisy_detections, test_split, tmp_path):
    path, gt = test_split
    crowded = dict(gt, annotations=[dict(a, iscrowd=int(n % 4 == 0)) for n, a in enumerate(gt["annotations"])])
    crowd_path = tmp_path / "crowd.json"
    crowd_path.write_text(json.dumps(crowded))
    on_crowd = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                 "score": 0.99} for a in crowded["annotations"] if a["iscrowd"]]  # ranked first
    detections = noisy_detections(gt, 3) + on_crowd
    matches = coco_matches(crowd_path, detections)
    assert any((c.tp | c.fp).sum() < c.tp.shape[1] * len(c.tp) for c in matches)  # some ignored
    coco = coco_evaluate(crowd_path, detections)
    map50, map50_95 = average_precision(matches, np.ones(len(gt["images"])))
    assert map50 == pytest.approx(coco.map50, abs=1e-9)
    assert map50_95 == pytest.approx(coco.map50_95, abs=1e-9)


def test_many_draws_at_once_equal_one_at_a_time(noisy_detections, test_split):
    path, gt = test_split
    matches = coco_matches(path, noisy_detections(gt, 4))
    rng = np.random.default_rng(0)
    n = len(gt["images"])
    draws = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(7)]).astype(float)
    draws[3] = 0  # nothing drawn: every class left out
    together = average_precisions(matches, draws, chunk=3)  # chunks of 3, 3 and 1
    assert together.shape == (7, 2)
    for row, weights in zip(together, draws, strict=True):
        assert tuple(row) == pytest.approx(average_precision(matches, weights), abs=1e-12)
    assert tuple(together[3]) == (0.0, 0.0)
    assert len({tuple(row) for row in together}) > 2  # the draws differ


def test_an_image_drawn_twice_counts_like_a_duplicated_image(noisy_detections, test_split, tmp_path):
    path, gt = test_split
    detections = noisy_detections(gt, 1)
    twice = gt["images"][0]["id"]
    new_id, next_ann = max(i["id"] for i in gt["images"]) + 1, max(a["id"] for a in gt["annotations"])
    duplicated = dict(gt, images=gt["images"] + [dict(gt["images"][0], id=new_id)])
    copies = [dict(a, image_id=new_id, id=next_ann + n + 1)
              for n, a in enumerate(a for a in gt["annotations"] if a["image_id"] == twice)]
    duplicated["annotations"] = gt["annotations"] + copies
    dup_path = tmp_path / "duplicated.json"
    dup_path.write_text(json.dumps(duplicated))
    dup_dets = detections + [dict(d, image_id=new_id) for d in detections if d["image_id"] == twice]

    expected = coco_evaluate(dup_path, dup_dets)
    weights = np.ones(len(gt["images"]))
    weights[sorted(i["id"] for i in gt["images"]).index(twice)] = 2
    map50, map50_95 = average_precision(coco_matches(path, detections), weights)
    assert map50 == pytest.approx(expected.map50, abs=1e-9)
    assert map50_95 == pytest.approx(expected.map50_95, abs=1e-9)


def test_bootstrap_intervals_and_paired_deltas(noisy_detections, test_split):
    path, gt = test_split
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                "score": 1.0} for a in gt["annotations"]]
    noisy = coco_matches(path, noisy_detections(gt, 2))
    result = bootstrap({"real": [noisy], "same": [noisy], "perfect": [coco_matches(path, perfect)],
                        "nothing": [coco_matches(path, [])]}, resamples=200,
                       rivals={"nothing": "perfect", "same": "real"})
    real = result["real"]["coco_map50_95"]
    assert real.low <= real.mean <= real.high and real.high - real.low > 0.01
    assert result["perfect"]["coco_map50_95"].mean == pytest.approx(1.0)
    same = result["same"]["delta_coco_map50_95"]
    assert same.low == same.high == same.mean == 0.0  # identical detections: every draw agrees
    assert result["perfect"]["delta_coco_map50_95"].low > 0
    assert result["nothing"]["delta_coco_map50_95"].high < 0
    assert "delta_coco_map50" not in result["real"]
    assert result["nothing"]["rival_delta_coco_map50_95"].high < 0  # against perfect, not real
    assert result["nothing"]["rival_delta_coco_map50_95"].mean == pytest.approx(-1.0)
    assert result["same"]["rival_delta_coco_map50_95"].mean == 0.0
    assert not any(key.startswith("rival_") for key in result["perfect"])
