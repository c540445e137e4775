"""Each arm produces a valid COCO set from the k training images only."""

import numpy as np
import pytest

from conditioning.errors import DefectforgeError
from eval.arms import ARMS, ArmInputs
from pipeline.data.atomic import write_json
from pipeline.data.coco_reader import read_coco
from pipeline.data.coco_writer import write_coco
from pipeline.data.records import InstanceRecord

CATEGORIES = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "pit"}]


def arm_inputs(toy_dataset, tmp_path, **extra):
    train = read_coco(toy_dataset / "annotations" / "train.json")[:6]
    return ArmInputs(dataset="toy", train=train, categories=CATEGORIES, out_dir=tmp_path / "arm",
                     seed=3, ratio=1.5, spec_path=toy_dataset / "defects.yaml", **extra)


def check_set(result, inputs):
    records = read_coco(result.coco_path)
    assert result.count == len(records) == round(1.5 * 6)
    assert sum(len(r.instances) for r in records) > 0
    allowed = {r.image_path for r in inputs.train} | {r.clean_path for r in inputs.train}
    assert result.inputs and set(result.inputs) <= allowed
    for record in records:
        image = record.load_image()
        assert image.shape == (record.height, record.width, 3)
        for inst in record.instances:
            assert inst.mask.shape == (record.height, record.width) and inst.mask.sum() >= 4
            x, y, w, h = inst.bbox_xywh
            assert 0 <= x and 0 <= y and x + w <= record.width and y + h <= record.height
    return records


def test_real_only_adds_nothing(toy_dataset, tmp_path):
    assert ARMS["real"](arm_inputs(toy_dataset, tmp_path)) is None


@pytest.mark.parametrize("arm", ["augment", "copypaste", "procedural"])
def test_synthetic_arm_writes_valid_coco(toy_dataset, tmp_path, arm, capsys):
    inputs = arm_inputs(toy_dataset, tmp_path)
    result = ARMS[arm](inputs)  # pyproject turns albumentations' UserWarnings into errors
    records = check_set(result, inputs)
    assert f"{arm} seed 3: 100%" in capsys.readouterr().err, "a progress bar while it draws"
    again = ARMS[arm](arm_inputs(toy_dataset, tmp_path / "again"))
    first, second = records[0].load_image(), read_coco(again.coco_path)[0].load_image()
    assert np.array_equal(first, second), "same seed, same synthetic set"


def test_a_drawn_set_passed_through_the_augment_transform_keeps_its_labels(toy_dataset, tmp_path):
    """transform_set: same count and inputs, images changed, each mask inside its carried box,
    a real label kept on a drawn image still marked kept; same seed, same set."""
    from eval.augment import box_region, transform_set

    inputs = arm_inputs(toy_dataset, tmp_path, onto="defective")
    drawn = ARMS["copypaste"](inputs)
    transformed = transform_set(drawn, tmp_path / "transformed", CATEGORIES, seed=3)
    records = check_set(transformed, inputs)
    assert transformed.inputs == drawn.inputs and transformed.coco_path != drawn.coco_path
    before = read_coco(drawn.coco_path)
    assert sum(not np.array_equal(a.load_image(), b.load_image()) for a, b in zip(before, records, strict=True)) >= 6
    for record in records:
        assert record.clean_path is None and record.provenance["transformed"]
        for inst in record.instances:
            assert not (inst.mask & ~box_region(inst.bbox_xywh, inst.mask.shape)).any()
    kept = [sum(i.kept_real for r in rs for i in r.instances) for rs in (before, records)]
    assert kept[0] > 0 and kept[1] > 0
    again = transform_set(drawn, tmp_path / "again", CATEGORIES, seed=3)
    assert np.array_equal(read_coco(again.coco_path)[0].load_image(), records[0].load_image())


def test_copypaste_keeps_real_defect_pixels(toy_dataset, tmp_path):
    inputs = arm_inputs(toy_dataset, tmp_path)
    records = read_coco(ARMS["copypaste"](inputs).coco_path)
    for record in records:
        image = record.load_image()
        for inst in record.instances:
            assert image[inst.mask].mean() < 60  # toy defects are dark (25) on a ~90 board


def test_diffusion_arm_reads_a_generated_set_and_drops_gate_failures(toy_dataset, tmp_path):
    generated = tmp_path / "generated"
    records = read_coco(toy_dataset / "annotations" / "train.json")[:6]
    for i, record in enumerate(records):
        for inst in record.instances:  # generate_set's layout: a gate dict per instance
            inst.extra["gate"] = {"passed": i != 0, "box_changed": 0.1}
        record.provenance.update({"source": "generated", "revision": "rev-1",
                                  "gate_passed": i != 0})
    write_coco(generated / "annotations.json", records, CATEGORIES, root=toy_dataset)
    write_json(generated / "summary.json", {"count": 6, "image_pass_rate": 5 / 6})
    inputs = arm_inputs(toy_dataset, tmp_path, generated=generated)
    result = ARMS["diffusion"](inputs)
    kept = read_coco(result.coco_path)
    assert result.count == len(kept) == 5 and result.gate_pass_rate == pytest.approx(5 / 6)
    assert result.generator_revision == "rev-1"
    assert kept[0].image_path.resolve() == records[1].image_path.resolve()
    assert {p.resolve() for p in result.inputs} == {r.clean_path for r in records[1:]}


def test_diffusion_arm_without_a_set_says_how_to_get_one(toy_dataset, tmp_path):
    with pytest.raises(DefectforgeError, match="--generated DIR"):
        ARMS["diffusion"](arm_inputs(toy_dataset, tmp_path))


def test_generator_trained_outside_the_budget_is_a_leak(toy_dataset, tmp_path):
    from eval.generated import generator_training_images

    train = read_coco(toy_dataset / "annotations" / "train.json")[:6]
    model = tmp_path / "model"
    model.mkdir()
    write_json(model / "model_card.json", {"images": [r.image_path.name for r in train[:3]]})
    assert generator_training_images(model, train) == [r.image_path for r in train[:3]]
    write_json(model / "model_card.json", {"images": ["train000.png", "train011.png"]})
    with pytest.raises(DefectforgeError, match="leakage.*train011.png"):
        generator_training_images(model, train)
    (model / "model_card.json").unlink()
    with pytest.raises(DefectforgeError, match="model_card.json: missing"):
        generator_training_images(model, train)


def test_procedural_paint_stays_binary_on_binarised_scans():
    from eval.procedural import paint_instances

    background = np.full((32, 32, 3), 255, np.uint8)
    background[8:12] = 0  # a "trace"
    mask = np.zeros((32, 32), bool)
    mask[20:24, 5:15] = True
    out = paint_instances(background, [("short", mask, 1.0)], {"short": np.zeros(3)},
                          np.random.default_rng(0))
    assert set(np.unique(out)) <= {0, 255}
    assert (out[mask] == 0).mean() > 0.9


def test_procedural_moves_to_the_next_background_when_a_spec_cannot_be_placed(toy_dataset,
                                                                              tmp_path):
    from pipeline.data.atomic import write_png

    spec = tmp_path / "short.yaml"
    spec.write_text("product: toy\nclasses: [scratch, pit]\ndefects:\n"
                    "  - {name: bridge, class: pit, kind: short, count: 1}\n")
    train = read_coco(toy_dataset / "annotations" / "train.json")[:2]
    blank = tmp_path / "blank.png"  # no copper at all: a short cannot be placed on it
    write_png(blank, np.zeros((train[0].height, train[0].width, 3), np.uint8))
    train[0].clean_path = blank
    inputs = ArmInputs(dataset="toy", train=train, categories=CATEGORIES, out_dir=tmp_path / "arm",
                       seed=1, ratio=1.0, spec_path=spec)
    records = read_coco(ARMS["procedural"](inputs).coco_path)
    assert len(records) == 2 and all(len(r.instances) == 1 for r in records)
    assert {r.clean_path.resolve() for r in records} == {train[1].clean_path.resolve()}


def test_procedural_refuses_learned_defects_it_cannot_draw(toy_dataset, tmp_path):
    spec = tmp_path / "learned.yaml"
    spec.write_text("product: toy\nclasses: [scratch, pit]\ndefects:\n"
                    "  - {name: blot, class: pit, kind: learned, count: 1}\n")
    inputs = ArmInputs(dataset="toy", train=read_coco(toy_dataset / "annotations" / "train.json")[:2],
                       categories=CATEGORIES, out_dir=tmp_path / "arm", seed=1, ratio=1.0,
                       spec_path=spec)
    with pytest.raises(DefectforgeError, match=r"learned.yaml: defects \['blot'\] are `kind: learned`"):
        ARMS["procedural"](inputs)
    assert not (tmp_path / "arm").exists()


def loose_train(toy_dataset, pad=5):
    """The toy train images with boxes drawn `pad` px past their masks (hand-drawn style)."""
    from pipeline.labels.style import grow_box

    train = read_coco(toy_dataset / "annotations" / "train.json")[:6]
    for record in train:
        record.instances = [InstanceRecord(i.class_name, i.category_id,
                                           grow_box(i.mask, (pad,) * 4), mask=i.mask)
                            for i in record.instances]
    return train


@pytest.mark.parametrize("arm", ["augment", "copypaste", "procedural"])
def test_synthetic_boxes_are_drawn_like_the_real_ones(toy_dataset, tmp_path, arm):
    """Real boxes 5 px past their masks: every arm's boxes reach about as far (not tight)."""
    from pipeline.labels.style import margins

    inputs = ArmInputs(dataset="toy", train=loose_train(toy_dataset), categories=CATEGORIES,
                       out_dir=tmp_path / "arm", seed=3, ratio=1.5,
                       spec_path=toy_dataset / "defects.yaml")
    records = read_coco(ARMS[arm](inputs).coco_path)
    found = [margins(i.bbox_xywh, i.mask) for r in records for i in r.instances
             if all(0 < v < 90 for v in i.bbox_xywh[:2])]  # away from the image border
    assert found
    assert np.median(np.array(found)) == pytest.approx(5, abs=1.5)


def test_procedural_labels_are_the_pixels_that_changed(toy_dataset, tmp_path):
    from pipeline.labels.visible import changed_pixels

    inputs = arm_inputs(toy_dataset, tmp_path)
    for record in read_coco(ARMS["procedural"](inputs).coco_path):
        changed = changed_pixels(record.load_image(), record.load_clean())
        for inst in record.instances:
            assert not (inst.mask & ~changed).any()


@pytest.mark.parametrize("arm", ["copypaste", "procedural"])
def test_drawn_onto_the_real_defect_images_keeping_their_labels(toy_dataset, tmp_path, arm):
    """onto defective: each image is one of the k defect images with new defects clear of its own;
    the real labels come along marked `real`, the new ones are the pixels that changed."""
    from pipeline.labels.visible import changed_pixels

    inputs = arm_inputs(toy_dataset, tmp_path, onto="defective")
    records = check_set(ARMS[arm](inputs), inputs)
    sources = {r.image_path.resolve(): r for r in inputs.train if r.instances}
    new_labels = 0
    for record in records:
        source = sources[record.clean_path.resolve()]  # the defect image it was drawn on
        kept = [i for i in record.instances if i.kept_real]
        assert [(i.class_name, i.bbox_xywh) for i in kept] == [
            (i.class_name, i.bbox_xywh) for i in source.instances]
        real = np.logical_or.reduce([i.mask for i in source.instances])
        image = record.load_image()
        assert np.array_equal(image[real], source.load_image()[real]), "real defects untouched"
        changed = changed_pixels(image, source.load_image())
        for inst in record.instances:
            if not inst.kept_real:
                new_labels += 1
                assert not (inst.mask & real).any() and not (inst.mask & ~changed).any()
    assert new_labels > 0


def test_pasted_defects_keep_clear_of_the_occupied_pixels():
    """On a flat board every spot matches equally and the first ones in scan order win: the
    top-left corner, where the background's own defect is. The pastes must go elsewhere."""
    import cv2

    from eval.copypaste import CONTEXT, Patch, paste_defects

    board = np.full((64, 64, 3), 90, np.uint8)
    mask = np.zeros((6, 6), bool)
    mask[1:5, 1:5] = True
    patch = Patch("pit", np.full((6, 6, 3), 25, np.uint8), np.full((6, 6, 3), 90, np.uint8), mask,
                  (0, 0, 0, 0))
    occupied = np.zeros((64, 64), bool)
    occupied[0:12, 0:12] = True
    _, free = paste_defects(board, [patch] * 4, np.random.default_rng(0))
    assert any((m & occupied).any() for _, m in free), "without `occupied` the corner is taken"
    _, pasted = paste_defects(board, [patch] * 4, np.random.default_rng(0), occupied=occupied)
    near = cv2.dilate(occupied.astype(np.uint8), np.ones((2 * CONTEXT + 1,) * 2, np.uint8)) > 0
    assert len(pasted) == 4 and not any((m & near).any() for _, m in pasted)


def test_each_seed_draws_its_own_subset_of_a_generated_set(toy_dataset, tmp_path):
    generated = tmp_path / "generated"
    records = read_coco(toy_dataset / "annotations" / "train.json")
    write_coco(generated / "annotations.json", records, CATEGORIES, root=toy_dataset)
    picked = []
    for seed in (0, 1):
        inputs = ArmInputs(dataset="toy", train=records[:4], categories=CATEGORIES,
                           out_dir=tmp_path / f"seed{seed}", seed=seed, ratio=1.0,
                           generated=generated)
        picked.append([r.image_path.name for r in read_coco(ARMS["diffusion"](inputs).coco_path)])
    assert len(picked[0]) == len(picked[1]) == 4 and picked[0] != picked[1]


def test_a_seed_field_in_the_generated_path_gives_each_seed_its_own_set(toy_dataset, tmp_path, capsys):
    records = read_coco(toy_dataset / "annotations" / "train.json")
    for seed in (0, 1):
        write_coco(tmp_path / f"gen-s{seed}" / "annotations.json", records[4 * seed:4 * seed + 4],
                   CATEGORIES, root=toy_dataset)
    for seed in (0, 1):
        inputs = ArmInputs(dataset="toy", train=records[:4], categories=CATEGORIES,
                           out_dir=tmp_path / f"seed{seed}", seed=seed, ratio=1.0,
                           generated=tmp_path / "gen-s{seed}")
        picked = {r.image_path.name for r in read_coco(ARMS["diffusion"](inputs).coco_path)}
        assert picked == {r.image_path.name for r in records[4 * seed:4 * seed + 4]}
    assert "WARNING" not in capsys.readouterr().err


def test_a_shared_set_no_larger_than_one_seeds_share_is_warned_about(toy_dataset, tmp_path, capsys):
    records = read_coco(toy_dataset / "annotations" / "train.json")
    write_coco(tmp_path / "gen" / "annotations.json", records[:4], CATEGORIES, root=toy_dataset)
    inputs = ArmInputs(dataset="toy", train=records[:4], categories=CATEGORIES,
                       out_dir=tmp_path / "seed0", seed=0, ratio=1.0, generated=tmp_path / "gen")
    ARMS["diffusion"](inputs)
    err = capsys.readouterr().err
    assert "every training seed trains on the same generated images" in err and "{seed}" in err
