"""A campaign name is one folder under runs/campaigns: `../../x` or an absolute path is refused."""

from __future__ import annotations

import pytest

from conditioning.errors import DefectforgeError
from flows.campaign_config import build_config, load_campaign_config
from pipeline.paths import runs_root


@pytest.mark.parametrize("name", ["../../x", "/tmp/elsewhere", "a/../../b", ".."])
def test_a_name_outside_runs_campaigns_is_refused_before_any_work(tmp_path, name):
    config = tmp_path / "c.yaml"
    config.write_text(f"dataset: sample\nname: '{name}'\n")
    with pytest.raises(DefectforgeError, match="name: campaign name .* must be one folder name"):
        load_campaign_config(config)


def test_a_plain_name_stays_under_runs_campaigns():
    out = build_config({"dataset": "sample", "name": "nightly-2024.1"}).out_dir
    assert out.parent == runs_root() / "campaigns" and out.name == "nightly-2024.1"
