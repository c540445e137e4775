"""The real defects that shape `kind: real` defects: each instance of the k real images with a
clean reference, cut with the clean part around it (`conditioning.masks.real.RealExample`)."""

from __future__ import annotations

from conditioning.bundle import foreground_mask
from conditioning.masks.real import REAL, RealExample, cut_example
from conditioning.placement import check_real_examples
from conditioning.spec import DefectLibrary
from pipeline.data.records import ImageRecord


def examples_for(library: DefectLibrary, records: list[ImageRecord]) -> dict[str, list[RealExample]]:
    """The `real_examples` of `records` the library's `real` defects take (none cut when it has
    none); a DefectforgeError naming the defects whose class has none (`check_real_examples`)."""
    if not any(d.kind == REAL for d in library.defects):
        return {}
    examples = real_examples(records, library.foreground)
    check_real_examples(library, examples)
    return examples


def real_examples(records: list[ImageRecord], polarity: str) -> dict[str, list[RealExample]]:
    """Per class, the examples of the records' masked instances, on the foreground (by
    `polarity`, the spec's `foreground`) of each record's clean reference; records without a
    clean reference are skipped."""
    out: dict[str, list[RealExample]] = {}
    for record in records:
        if record.clean_path is None or not record.instances:
            continue
        foreground = foreground_mask(record.load_clean(), polarity)
        for instance in record.instances:
            try:
                mask = instance.mask
            except ValueError:  # a box without a mask has no shape to lend
                continue
            example = cut_example(mask, foreground)
            if example is not None:
                out.setdefault(instance.class_name, []).append(example)
    return out
