"""What the spec studio does, without the web page: check a spec text as you type (the same
located messages as `defectforge spec check --dataset`), preview it on the line's clean images,
generate a few samples with the line's trained generator, and save the text atomically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conditioning.errors import DefectforgeError
from conditioning.spec import DefectLibrary, check_classes
from conditioning.spec_errors import SpecError, validate_text
from pipeline.data.atomic import write_bytes
from pipeline.paths import runs_root

PREVIEW_IMAGES = 3
"""Backgrounds on a preview sheet (picked by seed, as `spec preview` does)."""
SAMPLES = 4
"""Images one press of Generate makes."""


@dataclass(frozen=True)
class Line:
    """The product line the studio edits."""

    name: str
    spec_path: Path
    class_names: list[str]
    clean_images: list[Path]
    """Clean parts to preview on (the prepared train split's clean references); empty when the
    line is not prepared."""


def open_line(name: str) -> Line:
    """The line's spec file, its classes and its prepared clean images."""
    from conditioning.preview import list_images
    from pipeline.data.prepared import prepared_root
    from pipeline.data.registry import load_dataset_info, spec_path

    info = load_dataset_info(name)
    path = spec_path(name)
    if not path.is_file():
        raise DefectforgeError(f"{path}: dataset {name!r} has no defect spec; write one "
                               "(see README, Defect specs) and open the studio again")
    clean = prepared_root(name) / "clean" / "train"
    return Line(name, path.resolve(), info.class_names, list_images(clean) if clean.is_dir() else [])


def check_text(line: Line, text: str) -> tuple[DefectLibrary | None, list[str]]:
    """The library, or every problem as `file:line:column: field: message`."""
    try:
        library = validate_text(text, line.spec_path)
        library._base_dir = line.spec_path.parent
        check_classes(library, line.class_names)
    except SpecError as error:
        return None, [str(problem) for problem in error.problems]
    except DefectforgeError as error:
        return None, [f"{line.spec_path}: {error}"]
    return library, []


def preview(line: Line, library: DefectLibrary, seed: int,
            count: int = PREVIEW_IMAGES) -> tuple[np.ndarray, list[str]]:
    """The contact sheet (masks, edge map, class map) on `count` clean images chosen by seed,
    and the placement problems met."""
    from conditioning.preview import contact_sheet, read_rgb

    if not line.clean_images:
        raise DefectforgeError(f"dataset {line.name!r} is not prepared: run "
                               f"`defectforge data prepare {line.name}` to preview on its clean parts")
    order = np.random.default_rng(seed).permutation(len(line.clean_images))[:count]
    chosen = [(line.clean_images[i].name, read_rgb(line.clean_images[i])) for i in sorted(order)]
    return contact_sheet(library, chosen, seed)


def save(line: Line, text: str) -> str:
    """Write the text as edited (comments kept; ending with a newline, which web editors drop)
    when it is valid; raises DefectforgeError listing the problems otherwise."""
    library, problems = check_text(line, text)
    if library is None:
        raise DefectforgeError("not saved, fix first:\n" + "\n".join(problems))
    write_bytes(line.spec_path, (text if text.endswith("\n") else text + "\n").encode("utf-8"))
    return f"saved {line.spec_path} (hash {library.content_hash})"


def trained_generator(line: Line) -> Path | None:
    """The line's newest trained generator under runs/models, if any."""
    cards = sorted((runs_root() / "models").glob(f"{line.name}-*/model_card.json"),
                   key=lambda p: p.stat().st_mtime)
    return cards[-1].parent if cards else None


def no_generator_message(line: Line) -> str:
    return (f"No generator of `{line.name}` is trained yet (none under "
            f"`{runs_root() / 'models'}`). Train one with `defectforge train --dataset "
            f"{line.name}`, or run a campaign (`defectforge campaign --dataset {line.name}`).")


def generate(line: Line, seed: int, count: int = SAMPLES) -> tuple[list[Path], str]:
    """`count` samples of the saved spec with the line's generator (resumable: the same seed
    and spec reuse finished samples); returns the image files and a one-line summary."""
    from conditioning.spec import load_library
    from pipeline.generate import generate_set

    model = trained_generator(line)
    if model is None:
        raise DefectforgeError(no_generator_message(line))
    spec_hash = load_library(line.spec_path).content_hash
    out = runs_root() / "studio" / line.name / f"{spec_hash}-seed{seed}"
    summary = generate_set(line.name, line.spec_path, model, count, out, seed=seed,
                           keep_rejected=True, progress=False)
    images = sorted((out / "images").glob("*.png"))
    return images, (f"{len(images)} samples from `{model.name}` (saved spec {spec_hash}, seed "
                    f"{seed}); gate pass rate {summary.image_pass_rate:.0%}; in `{out}`")
