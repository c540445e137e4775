"""The campaign's final table shows an interval per arm even with one training seed, and says
which images it was scored on."""

from rich.console import Console

from flows.summary_table import arm_table


def interval(mean, low, high, n):
    return {"mean": mean, "low": low, "high": high, "n": n}


def test_one_seed_gets_the_test_bootstrap_interval_and_the_paired_delta():
    one = interval(0.1, 0.1, 0.1, 1)
    evaluation = {
        "arms": [
            {"arm": "real", "seeds": [0], "synthetic_images": 0, "reference": None,
             "metrics": {"map50": one, "coco_map50": interval(0.3, 0.25, 0.35, 3),
                         "coco_map50_95": one}, "delta": {},
             "over_test": {"coco_map50_95": interval(0.12, 0.08, 0.17, 1000)}},
            {"arm": "diffusion", "seeds": [0], "synthetic_images": 10, "reference": "real",
             "metrics": {"map50": interval(0.15, 0.15, 0.15, 1), "coco_map50_95": one},
             "delta": {"coco_map50_95": interval(0.05, 0.05, 0.05, 1)},
             "over_test": {"coco_map50_95": interval(0.16, 0.11, 0.2, 1000),
                           "delta_coco_map50_95": interval(0.04, -0.02, 0.09, 1000)}},
        ],
        "runs": [{"arm": "real", "epochs": 140}, {"arm": "diffusion", "epochs": 93}],
    }
    console = Console(width=80, record=True)
    console.print(arm_table(evaluation))
    text = console.export_text()
    assert "…" not in text  # two arms fit an 80-column terminal untruncated
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert "0.120 [0.080, 0.170]" in lines["COCO mAP50-95 [boot]"]
    assert "0.160 [0.110, 0.200]" in lines["COCO mAP50-95 [boot]"]
    assert "+0.040 [-0.020, +0.090]" in lines["Δ vs ref [boot]"]
    assert [cell.strip() for cell in lines["epochs"].split("│")[2:4]] == ["140", "93"]
    assert "+0.050" in lines["Δ vs ref [CI]"]
    assert "0.300 [0.250, 0.350]" in lines["COCO mAP50 [CI]"]
    assert [cell.strip() for cell in lines["ref"].split("│")[2:4]] == ["-", "real"]


def test_the_title_names_the_images_scored():
    evaluation = {"arms": [], "runs": []}
    for score_on, words in [("test", "the real test split"), ("val", "real validation images")]:
        console = Console(width=120, record=True)
        console.print(arm_table({**evaluation, "config": {"score_on": score_on}}))
        assert words in " ".join(console.export_text().split())  # the title wraps
