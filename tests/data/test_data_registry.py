"""dataset.yaml validation: the bundled files load, mistakes name the file, line and field."""

import pytest

from conditioning.errors import DefectforgeError
from pipeline.data.registry import load_dataset_info, spec_path


def test_bundled_datasets_load():
    sample = load_dataset_info("sample")
    assert sample.format == "sample" and "open" in sample.class_names
    deeppcb = load_dataset_info("deeppcb")
    assert deeppcb.class_names == ["open", "short", "mousebite", "spur", "copper", "pin-hole"]
    assert deeppcb.category_id("pin-hole") == 6 and deeppcb.class_name(2) == "short"
    assert spec_path("deeppcb").name == "defects.yaml"


def test_bundled_spec_libraries_match_dataset_classes():
    from conditioning.spec import check_classes, load_library

    for name in ("sample", "deeppcb"):
        check_classes(load_library(spec_path(name)), load_dataset_info(name).class_names)


def test_unknown_field_and_duplicate_id_are_reported_with_line(write_dataset):
    path = write_dataset(
        "bad",
        """\
        name: bad
        license: x
        format: sample
        clean_reference: rendered
        classes:
          - {id: 1, name: open}
          - {id: 1, name: short}
        layout:
          image_size: 128
          colour: red
        """,
    )
    with pytest.raises(DefectforgeError) as error:
        load_dataset_info("bad")
    message = str(error.value)
    assert str(path) in message
    assert f"{path}:10: layout.colour: Extra inputs are not permitted" in message


def test_wrong_clean_reference_and_unknown_dataset(write_dataset):
    write_dataset(
        "pcb",
        """\
        name: pcb
        license: x
        format: deeppcb
        clean_reference: rendered
        classes: [{id: 1, name: open}]
        """,
    )
    with pytest.raises(DefectforgeError, match="clean_reference 'rendered' is not available"):
        load_dataset_info("pcb")
    with pytest.raises(DefectforgeError, match="no such dataset"):
        load_dataset_info("nothing-here")
