"""The synthetic arms against each other: each against the strongest other one, in the report."""

from types import SimpleNamespace

from eval.report import ArmSummary, rivals_markdown, strongest_rivals
from eval.stats import Interval


def _runs(*values):
    return [SimpleNamespace(seed=seed, value=lambda metric, v=v: v) for seed, v in enumerate(values)]


def test_each_synthetic_arm_meets_the_strongest_other_one():
    by_arm = {"real": _runs(0.9, 0.9), "procedural": _runs(0.40, 0.42),
              "copypaste": _runs(0.38, 0.38), "diffusion": _runs(0.41, 0.43)}
    assert strongest_rivals(by_arm, ["procedural", "copypaste", "diffusion"]) == {
        "procedural": "diffusion", "copypaste": "diffusion", "diffusion": "procedural"}
    assert strongest_rivals(by_arm, ["diffusion"]) == {}  # one synthetic arm: no rival


def _arm(name, rival=None, seeds=None, images=None):
    one = Interval(mean=0.4, low=0.4, high=0.4, n=3)
    return ArmSummary(arm=name, seeds=[0, 1, 2], metrics={"coco_map50_95": one}, delta={},
                      per_class_ap50={}, per_class_ap50_95={}, synthetic_images=10, rival=rival,
                      rival_delta=seeds,
                      over_test={"rival_delta_coco_map50_95": images} if images else {})


def test_the_report_states_each_rival_delta_with_its_verdict():
    config = SimpleNamespace(score_on="test")
    above = Interval(mean=0.02, low=0.01, high=0.03, n=3)
    spans = Interval(mean=-0.01, low=-0.03, high=0.01, n=3)
    boot = Interval(mean=0.02, low=0.015, high=0.025, n=1000)
    report = SimpleNamespace(config=config, arms=[
        _arm("real"), _arm("diffusion", "procedural", above, boot), _arm("procedural", "diffusion", spans)])
    text = "\n".join(rivals_markdown(report))
    assert "## Synthetic arms against each other" in text
    assert ("| diffusion | procedural | +0.020 [+0.010, +0.030] | +0.020 [+0.015, +0.025] "
            "| better (CI above 0) |") in text
    assert "| procedural | diffusion | -0.010 [-0.030, +0.010] | — | not distinguishable" in text
    assert "| real |" not in text
    one_seed = Interval(mean=0.02, low=0.02, high=0.02, n=1)
    single = SimpleNamespace(config=config, arms=[_arm("diffusion", "procedural", one_seed, boot)])
    assert "better (CI above 0) on these images, one seed" in "\n".join(rivals_markdown(single))
    alone = SimpleNamespace(config=config, arms=[_arm("real"), _arm("diffusion")])
    assert rivals_markdown(alone) == []
