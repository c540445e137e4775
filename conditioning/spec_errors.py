"""Validate a spec file and report every problem as `file:line:col: field.path: message`."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from conditioning.errors import DefectforgeError
from conditioning.spec import DefectLibrary, library_json_schema
from conditioning.spec_yaml import SpecYamlError, parse_spec_text, read_spec_yaml

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One located problem in a spec file."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class SpecError(DefectforgeError):
    """A spec file is invalid; `problems` holds every located problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        count = len(self.problems)
        files = ", ".join(dict.fromkeys(p.file for p in self.problems))
        head = f"{count} problem{'s' if count != 1 else ''} in defect spec {files}"
        super().__init__(head + ":\n" + "\n".join(str(p) for p in self.problems))


def parse_and_validate(path: Path) -> DefectLibrary:
    """Parse YAML (with node marks), validate with pydantic plus cross-field checks."""
    if not path.is_file():
        raise DefectforgeError(f"spec file not found: {path} (give a defects.yaml path)")
    return _validate(path, lambda: read_spec_yaml(path))


def validate_text(text: str, path: str | Path) -> DefectLibrary:
    """Validate spec text as if read from `path` (problems name that file): an editor's buffer,
    under the same bounds as a file."""
    return _validate(Path(path), lambda: parse_spec_text(text))


def _validate(path: Path, parse) -> DefectLibrary:
    try:
        root, data = parse()
    except SpecYamlError as error:
        raise SpecError([Problem(str(path), error.line, error.column, "", error.message)]) from None
    locator = _Locator(str(path), root)
    if not isinstance(data, dict):
        raise SpecError(
            [locator.problem((), "expected a mapping with `product`, `classes`, `defects`")]
        )
    problems = locator.duplicate_keys()
    library = None
    try:
        library = DefectLibrary.model_validate(data)
    except ValidationError as error:
        problems += [_from_pydantic(locator, e) for e in error.errors()]
    problems += [locator.problem(loc, msg) for loc, msg in cross_check(data)]
    problems += [locator.problem(loc, msg) for loc, msg in check_region_masks(data, path)]
    if problems or library is None:
        raise SpecError(problems)
    library._notes = [str(locator.problem(loc, msg)) for loc, msg in inert_params(library)]
    return library


def inert_params(library: DefectLibrary) -> list[tuple[Loc, str]]:
    """Shape params a defect sets that its other params keep from changing any mask (valid, but
    a number the author may think is in use)."""
    from conditioning.masks import KINDS

    found: list[tuple[Loc, str]] = []
    for i, defect in enumerate(library.defects):
        kind = KINDS.get(defect.kind)
        if kind is None or kind.inert is None:
            continue
        for param, why in kind.inert(kind.ranges(defect.shape)).items():
            if getattr(defect.shape, param) is not None:
                found.append((("defects", i, "shape", param), f"kind `{kind.name}`: `{param}` has {why}"))
    return found


def cross_check(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Checks across fields: classes, kinds, the params a kind reads, region names, unique names."""
    from conditioning.masks import KINDS
    from conditioning.masks.learned import LEARNED

    classes = [c for c in data.get("classes") or [] if isinstance(c, str)]
    regions = list(data.get("regions") or {}) if isinstance(data.get("regions"), dict) else []
    defects = data.get("defects") if isinstance(data.get("defects"), list) else []
    found: list[tuple[Loc, str]] = []
    names: set[str] = set()
    for i, entry in enumerate(defects):
        if not isinstance(entry, dict):
            continue
        name, cls, kind = (_text(entry.get(key)) for key in ("name", "class", "kind"))
        if name is not None and name in names:
            found.append((("defects", i, "name"), f"duplicate defect name `{name}`"))
        names.add(name)
        if cls is not None and classes and cls not in classes:
            found.append((("defects", i, "class"), _unknown("class", cls, classes)))
        if kind is not None and kind not in KINDS:
            found.append((("defects", i, "kind"), _unknown("kind", kind, sorted(KINDS))))
        shape = entry.get("shape")
        if kind in KINDS and isinstance(shape, dict):
            reads = list(KINDS[kind].params)
            for key in shape:
                if isinstance(key, str) and key not in reads and key in _shape_fields():
                    found.append(
                        (
                            ("defects", i, "shape", key),
                            f"kind `{kind}` does not read `{key}` "
                            + (f"(it reads: {', '.join(reads)})" if reads else "(it reads no shape params: remove `shape`)"),
                        )
                    )
        if kind == LEARNED and isinstance(shape, dict):
            found += [(("defects", i, "shape", key), msg) for key, msg in learned_sizes(shape)]
        placement = entry.get("placement")
        if isinstance(placement, dict):
            for field in ("regions", "keep_out"):
                names_there = placement.get(field)
                for j, region in enumerate(names_there if isinstance(names_there, list) else []):
                    if isinstance(region, str) and region not in regions:
                        found.append(
                            (
                                ("defects", i, "placement", field, j),
                                _unknown("region", region, regions)
                                if regions
                                else f"unknown region `{region}`: define it under `regions`",
                            )
                        )
    return found


def learned_sizes(shape: dict[str, Any]) -> list[tuple[str, str]]:
    """A `learned` region's box: its short side (`width`) cannot exceed its long side (`length`)."""
    short, long_ = (_range_bounds(shape.get(key)) for key in ("width", "length"))
    if short is None or long_ is None or short[0] <= long_[1]:
        return []
    return [("width", f"kind `learned`: `width` (the box's short side, min {short[0]:g} px) exceeds "
             f"`length` (its long side, max {long_[1]:g} px); swap them or lower `width`")]


def _range_bounds(value: Any) -> tuple[float, float] | None:
    """(min, max) of a range as written (a number, [min, max] or {min, max}); None if malformed."""
    if isinstance(value, dict):
        value = [value.get("min"), value.get("max")]
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value, value]
    if isinstance(value, list) and len(value) == 2 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return float(value[0]), float(value[1])
    return None


def check_region_masks(data: dict[str, Any], path: Path) -> list[tuple[Loc, str]]:
    """Each region `mask:` must name a decodable image inside the spec file's folder."""
    from conditioning.region_masks import region_mask_problem

    regions = data.get("regions")
    found: list[tuple[Loc, str]] = []
    for name, region in regions.items() if isinstance(regions, dict) else []:
        mask = region.get("mask") if isinstance(region, dict) else None
        if isinstance(mask, str):
            problem = region_mask_problem(path.resolve().parent, mask)
            if problem:
                found.append((("regions", name, "mask"), problem))
    return found


def _text(value: Any) -> str | None:
    """`value` when it is a string (other types are reported by pydantic), else None."""
    return value if isinstance(value, str) else None


def _unknown(what: str, value: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(value, valid, n=1, cutoff=0.5)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return f"unknown {what} `{value}` (expected one of: {', '.join(valid) or 'none defined'}){hint}"


def _shape_fields() -> list[str]:
    from conditioning.spec import ShapeParams

    return list(ShapeParams.model_fields)


def _from_pydantic(locator: _Locator, error: dict[str, Any]) -> Problem:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        key = str(loc[-1])
        valid = _schema_keys(loc[:-1])
        return locator.problem(loc, _unknown("key", key, valid), key_mark=True)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return locator.problem(loc[:-1], f"missing required key `{loc[-1]}`")
    got = error.get("input")
    if not isinstance(got, dict | list) and "(got" not in message:
        shown = repr(got)
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return locator.problem(loc, message)


def _schema_keys(loc: Loc) -> list[str]:
    """Valid keys of the mapping at `loc`, read from the JSON schema."""
    schema = _schema()
    defs = schema.get("$defs", {})
    node: dict[str, Any] = schema
    for part in (*loc, None):
        node = _resolve(node, defs)
        if part is None:
            break
        if isinstance(part, int):
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            node = node.get("additionalProperties", {}) or {}
    return list(node.get("properties", {}))


@functools.cache
def _schema() -> dict[str, Any]:
    """The JSON schema, built once (read only here)."""
    return library_json_schema()


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in node:
            options = [o for o in node["anyOf"] if "$ref" in o or "properties" in o or "items" in o]
            node = next(
                (o for o in options if "$ref" in o or "properties" in o),
                options[0] if options else {},
            )
        else:
            return node


class _Locator:
    """Maps a validation `loc` to the YAML node it came from (line/column from PyYAML marks)."""

    def __init__(self, file: str, root: yaml.Node | None):
        self.file = file
        self.root = root

    def problem(self, loc: Loc, message: str, *, key_mark: bool = False) -> Problem:
        mark = self._mark(loc, key_mark)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return Problem(self.file, line, col, _dotted(loc), message)

    def _mark(self, loc: Loc, key_mark: bool) -> yaml.Mark | None:
        node, mark = self.root, self.root.start_mark if self.root else None
        for part in loc:
            key_node, child = _child(node, part)
            if child is None:
                break
            node, mark = child, (key_node.start_mark if key_mark and key_node else child.start_mark)
        return mark

    def duplicate_keys(self) -> list[Problem]:
        problems: list[Problem] = []
        stack = [self.root] if self.root else []
        visited: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in visited:  # a node graph may share nodes; walk each once
                continue
            visited.add(id(node))
            if isinstance(node, yaml.MappingNode):
                seen: set[str] = set()
                for key, value in node.value:
                    if not isinstance(key, yaml.ScalarNode):
                        stack.append(value)
                        continue
                    if key.value in seen:
                        problems.append(
                            Problem(
                                self.file,
                                key.start_mark.line + 1,
                                key.start_mark.column + 1,
                                "",
                                f"duplicate key `{key.value}`",
                            )
                        )
                    seen.add(key.value)
                    stack.append(value)
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
        return problems


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return None, node.value[part]
    return None, None


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def locate(path: Path, loc: Loc, message: str) -> Problem:
    """A `Problem` at the YAML node `loc` of a valid spec file (or the nearest existing parent:
    `defects[2].placement.surface` falls back to `defects[2].placement` when unset)."""
    root = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    return _Locator(str(path), root).problem(loc, message)
