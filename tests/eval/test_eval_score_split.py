"""`score_on: val`: settings are chosen on training images outside the budget, never on the test
split."""

from eval import inputs
from eval.config import resolve_config
from eval.inputs import budget_records, load_data


def test_validation_images_are_training_images_outside_the_budget(toy_dataset, tmp_path):
    config = resolve_config(str(toy_dataset), "dev", real_budget=6, out_dir=tmp_path)
    assert config.score_on == "val" and config.seeds == [0] and config.detector.epochs == 60
    data = load_data(config)
    budget, _ = budget_records(data, config, tmp_path)
    val = inputs.test_records(data, config.model_copy(update={"test_limit": None}), budget)
    train = {p.name for p in (toy_dataset / "images" / "train").iterdir()}
    assert {r.image_path.name for r in val} == train - {r.image_path.name for r in budget}
    assert len(val) == 16 - 6
    spread = inputs.test_records(data, config.model_copy(update={"test_limit": 3}), budget)
    names = sorted(r.image_path.name for r in val)
    assert [r.image_path.name for r in spread] == names[::3][:3]  # evenly spaced, not the first 3
    test = inputs.test_records(data, config.model_copy(update={"score_on": "test", "test_limit": None}))
    assert all(r.image_path.parent.name == "test" for r in test) and len(test) == 8


def test_near_copies_of_the_budget_are_not_validation_images(tmp_path):
    """DeepPCB's neighbouring training images can be one board: a validation image that nearly
    copies a budget image (or its clean reference) would flatter every detector."""
    import cv2

    from tests.eval.conftest import make_toy_dataset

    root = make_toy_dataset(tmp_path / "toy")
    config = resolve_config(str(root), "dev", real_budget=6, out_dir=tmp_path / "eval")
    data = load_data(config)
    budget, _ = budget_records(data, config, tmp_path / "eval")
    taken = {r.image_path.name for r in budget}
    others = sorted(p for p in (root / "images" / "train").iterdir() if p.name not in taken)
    copy = cv2.imread(str(budget[0].image_path))
    cv2.imwrite(str(others[0]), cv2.add(copy, 1))  # a re-encoded, 1-level brighter copy
    clean = cv2.imread(str(budget[1].clean_path))
    cv2.imwrite(str(others[1]), clean)  # the clean board of another budget image
    val = inputs.test_records(data, config.model_copy(update={"test_limit": None}), budget)
    assert {r.image_path.name for r in val} == {p.name for p in others[2:]}
