"""Change values of a spec's YAML text in place, keeping everything else (comments, order, flow or
block style, untouched numbers) byte for byte: each changed scalar is replaced at its PyYAML
marks, and a missing key is inserted next to its siblings in the same style."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

Loc = tuple[str | int, ...]
Value = float | int | str | list[Any] | dict[str, Any]
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\- ]*")


def edit_text(text: str, changes: Mapping[Loc, Value]) -> str:
    """`text` with the value at each location (`("defects", 2, "shape", "radius")`) set. A
    mapping value sets its keys one by one (`{min: 2, max: 9}` keeps a `dist:` beside them), a
    list of the same length sets its items, any other value replaces the node; a key the
    mapping lacks is added (`shape`, `placement` and the like are created when missing). A
    range `{min, max}` takes the file's form: `[2, 9]` where it writes a list."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    spans: list[tuple[int, int, str]] = []
    for loc, value in changes.items():
        depth = len(loc) - 1
        while depth and _node(root, loc[:depth]) is None:  # missing parents become a value
            depth -= 1
        for key in reversed(loc[depth + 1:]):
            value = {key: value}
        _set(text, _node(root, loc[:depth]), loc[depth], value, spans)
    for start, end, new in sorted(spans, key=lambda s: (s[0], s[1]), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _node(root: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    node = root
    for part in loc:
        node = _child(node, part)
    return node


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == str(part)), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _set(text: str, parent: yaml.Node, key: str | int, value: Value,
         spans: list[tuple[int, int, str]]) -> None:
    node = _child(parent, key)
    value = _range_form(node, value)
    if node is None:
        if not isinstance(parent, yaml.MappingNode) or isinstance(key, int):
            raise KeyError(f"cannot add item {key!r} to a YAML sequence")
        spans.append(_insertion(text, parent, str(key), value))
    elif isinstance(value, dict) and isinstance(node, yaml.MappingNode):
        for name, item in value.items():
            _set(text, node, name, item, spans)
    elif (isinstance(value, list) and isinstance(node, yaml.SequenceNode)
          and len(value) == len(node.value)):
        for index, item in enumerate(value):
            _set(text, node, index, item, spans)
    elif isinstance(node, yaml.ScalarNode) or node.flow_style:
        spans.append((node.start_mark.index, node.end_mark.index, flow(value)))
    else:
        raise ValueError(f"cannot replace the block {node.tag} at line "
                         f"{node.start_mark.line + 1} with {flow(value)}")


def _range_form(node: yaml.Node | None, value: Value) -> Value:
    """A range (`{min, max}`, `dist` only when not uniform) in the form the file writes it:
    `[min, max]` where it writes a list or the key is new, a number where it writes one."""
    if not (isinstance(value, dict) and {"min", "max"} <= set(value) <= {"min", "max", "dist"}):
        return value
    if isinstance(node, yaml.MappingNode) or "dist" in value:
        return value
    if isinstance(node, yaml.ScalarNode) and value["min"] == value["max"]:
        return value["min"]
    return [value["min"], value["max"]]


def _insertion(text: str, mapping: yaml.MappingNode, key: str, value: Value) -> tuple[int, int, str]:
    """Where and what to insert so that `mapping` gains `key: value` in its own style."""
    entry = f"{key}: {flow(value)}"
    if mapping.flow_style:
        close = mapping.end_mark.index - 1  # the `}`
        inner = text[mapping.start_mark.index + 1:close].strip()
        return (close, close, f", {entry}" if inner else entry)
    indent = mapping.value[0][0].start_mark.column
    one_line = [v for _, v in mapping.value if _on_one_line(v)]
    if not one_line:  # only block values: a line of its own before the last key
        at = mapping.value[-1][0].start_mark.index - indent
        return (at, at, f"{' ' * indent}{entry}\n")
    line_end = text.find("\n", one_line[-1].end_mark.index)
    at = len(text) if line_end < 0 else line_end + 1
    prefix = "" if line_end >= 0 else "\n"
    return (at, at, f"{prefix}{' ' * indent}{entry}\n")


def _on_one_line(node: yaml.Node) -> bool:
    """A plain or quoted scalar, or a flow collection: it ends on the line of its end mark."""
    if isinstance(node, yaml.ScalarNode):
        return node.style not in ("|", ">")
    return bool(node.flow_style)


def flow(value: Value) -> str:
    """One-line YAML of a plain value: `3`, `2.5`, `[1, 2]`, `{min: 2, max: 9, dist: normal}`."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    text = str(value)
    plain = _PLAIN.fullmatch(text) and yaml.safe_load(text) == text
    return text if plain else json.dumps(text)


def number(value: float) -> str:
    """`3` for whole numbers, else one decimal from 1 up (`12.5`) and two significant digits
    below (`0.35`): what a hand-written spec would say."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    rounded = round(value, 1) if abs(value) >= 1 else float(f"{value:.2g}")
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)
