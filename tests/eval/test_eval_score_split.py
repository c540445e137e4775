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
