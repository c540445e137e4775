"""A broken model folder is an error naming the broken file, never a torch/JSON traceback."""

from __future__ import annotations

import pytest

from conditioning.errors import DefectforgeError
from pipeline.models import create_backend, load_backend
from pipeline.models.base import MODEL_FILE


@pytest.fixture
def saved(tmp_path, kit):
    create_backend("compact", kit.classes, kit.tiny).save(tmp_path / "m")
    return tmp_path / "m"


def test_a_truncated_safetensors_file_is_named(saved):
    weights = sorted(saved.rglob("*.safetensors"))[0]
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(DefectforgeError, match=r"broken weights file \(.*truncated") as caught:
        load_backend(saved)
    assert str(weights) in str(caught.value)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"backend": ["compact"]}'])
def test_a_broken_model_description_is_named(saved, text):
    (saved / MODEL_FILE).write_text(text)
    with pytest.raises(DefectforgeError) as caught:
        load_backend(saved)
    assert str(saved / MODEL_FILE) in str(caught.value)


def test_the_intact_folder_still_loads(saved, kit):
    assert load_backend(saved).classes == kit.classes
