"""Seeded hostile spec files built from the shipped ones; every mutation makes the spec invalid.

Each mutation is one function `(rng, text, folder) -> bytes` (one job, one signature, one
registry `SPEC_MUTATIONS`); `folder` is where the spec will be written (for region mask files).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from pipeline.paths import datasets_root

Mutation = Callable[[random.Random, str, Path], bytes]


def base_specs() -> list[str]:
    """The shipped spec libraries' texts (the fuzzer's seeds)."""
    return [path.read_text() for path in sorted(datasets_root().glob("*/defects.yaml"))]


def mutated_spec(rng: random.Random, bases: Sequence[str], folder: Path) -> tuple[str, bytes]:
    """(mutation name, file bytes): one random mutation, sometimes stacked on a structural one."""
    text = rng.choice(bases)
    name = rng.choice(sorted(SPEC_MUTATIONS))
    if name != "structural" and rng.random() < 0.3:
        text = _structural(rng, text, folder).decode("utf-8", errors="replace")
        name = f"structural+{name}"
    return name, SPEC_MUTATIONS[name.split("+")[-1]](rng, text, folder)


# ---- byte and text level: always invalid, whatever the text was


def _utf16(rng: random.Random, text: str, folder: Path) -> bytes:
    return text.encode(rng.choice(["utf-16", "utf-16-le", "utf-16-be"]))


def _latin1(rng: random.Random, text: str, folder: Path) -> bytes:
    position = rng.randrange(len(text) + 1)
    return (text[:position] + rng.choice("éüßøñ°±") + text[position:]).encode("latin-1", "replace")


def _binary(rng: random.Random, text: str, folder: Path) -> bytes:
    data = text.encode()
    position = rng.randrange(len(data) + 1)
    noise = bytes([rng.choice([0x00, 0x80, 0xC0, 0xFF, 0xFE])]) + rng.randbytes(rng.randrange(0, 64))
    return data[:position] + noise + data[position:]


def _alias(rng: random.Random, text: str, folder: Path) -> bytes:
    tails = [
        "junk: &r {a: *r}\n",
        "junk: &r [1, *r]\n",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
        "product: &p pcb\nproduct2: *p\n",
    ]
    return (text + rng.choice(tails)).encode()


def _deep(rng: random.Random, text: str, folder: Path) -> bytes:
    depth = rng.choice([30, 200, 5_000, 50_000])
    opening, closing = rng.choice([("[", "]"), ("{a: ", "}"), ("- ", "")])
    if opening == "- ":
        nested = "".join(f"{'  ' * i}- \n" for i in range(min(depth, 400))) + "  " * 400 + "x\n"
        return (text + "junk:\n" + nested).encode()
    return (text + "junk: " + opening * depth + "1" + closing * depth + "\n").encode()


def _huge(rng: random.Random, text: str, folder: Path) -> bytes:
    size = rng.choice([256_001, 1_000_000])
    return (text + "# " + "x" * size + "\n").encode()


def _syntax(rng: random.Random, text: str, folder: Path) -> bytes:
    broken = rng.choice(["junk: [unclosed\n", "junk: {a: 1\n", "\tjunk: 1\n", "junk: 'open\n",
                         "- a\nb: c\n", "junk: !!float abc\n", "junk: !!python/object:os.system x\n",
                         "junk: !!binary aGVsbG8=\n", "? [a, b]\n: c\n", "%TAG ! x\n---\n"])  # fmt: skip
    return (text + broken).encode()


def _unknown_key(rng: random.Random, text: str, folder: Path) -> bytes:
    key = rng.choice(["prodcut", "defect", "classes2", "maxPerImage", "1", "null", "true", "ü"])
    return (text + f"{key}: 1\n").encode()


def _duplicate_key(rng: random.Random, text: str, folder: Path) -> bytes:
    lines = [line for line in text.splitlines() if line and line[0].isalpha() and ":" in line]
    return (text + rng.choice(lines) + "\n").encode()


def _region_mask(rng: random.Random, text: str, folder: Path) -> bytes:
    """A region whose mask file is outside the folder, special, missing or not an image."""
    (folder / "notes.txt").write_text("not an image")
    link = folder / "linked.png"
    if not link.is_symlink():
        link.symlink_to(folder.parent / "outside.png")
    mask = rng.choice(["../../../../etc/passwd", "/dev/zero", "/proc/self/environ", "/etc/hostname",
                       "../outside.png", "linked.png", "missing.png", "notes.txt", "", ".",
                       "~/.ssh/id_rsa", "C:\\\\Windows\\\\win.ini", "sub/../../outside.png"])  # fmt: skip
    data = yaml.load(text, Loader=yaml.CSafeLoader)  # the case generator, not the loader under test: fast libyaml
    if not isinstance(data.get("regions"), dict):
        data["regions"] = {}
    data["regions"]["evil"] = {"mask": mask}
    return _dump(data)


# ---- structural: one field gets a value no field of its kind accepts

_HOSTILE_FOR_NUMBER = ["5", "true", True, float("nan"), float("inf"), -float("inf"), 10**12,
                       -(10**12), [1, 2, 3], {"a": 1}, "", None]  # fmt: skip
_HOSTILE_FOR_TEXT = [5, 2.5, True, [], ["open"], {"a": 1}, float("nan"), "x" * 5000]


def _structural(rng: random.Random, text: str, folder: Path) -> bytes:
    data = yaml.load(text, Loader=yaml.CSafeLoader)  # the case generator, not the loader under test: fast libyaml
    choice = rng.random()
    if choice < 0.15:  # a required key goes
        key = rng.choice(["product", "classes", "defects"])
        data.pop(key, None)
        if key == "defects" or rng.random() < 0.5:
            data.setdefault("junk", 1)  # keep it invalid even if the key was optional after all
    elif choice < 0.3:  # kind / name / class as lists or numbers
        entry = rng.choice(data["defects"])
        entry[rng.choice(["kind", "name", "class"])] = rng.choice([[entry["kind"]], 7, {"x": 1}])
    else:
        parent, key, value = rng.choice(list(_leaves(data)))
        hostile = _HOSTILE_FOR_TEXT if isinstance(value, str) else _HOSTILE_FOR_NUMBER
        replacement = rng.choice(hostile)
        if replacement is None and isinstance(parent, dict) and key in _OPTIONAL_NUMBERS:
            replacement = "none"
        parent[key] = replacement
    return _dump(data)


def _dump(data) -> bytes:
    """YAML bytes of the mutated data (libyaml's emitter: the case generator, not under test)."""
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True).encode()


_OPTIONAL_NUMBERS = {"max_per_image", "edge_band", "min_distance"}
"""Fields where null is valid (so the fuzzer writes another hostile value there)."""


def _leaves(node, parent=None, key=None):
    """(parent, key, value) of every scalar in the data (the strings and numbers a user wrote)."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield from _leaves(child, node, child_key)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _leaves(child, node, index)
    elif parent is not None and not isinstance(node, bool) and node is not None:
        yield parent, key, node


SPEC_MUTATIONS: dict[str, Mutation] = {
    "utf16": _utf16, "latin1": _latin1, "binary": _binary, "alias": _alias, "deep": _deep,
    "huge": _huge, "syntax": _syntax, "unknown_key": _unknown_key,
    "duplicate_key": _duplicate_key, "region_mask": _region_mask, "structural": _structural,
}  # fmt: skip
"""Every hostile mutation of a spec file, by name."""
