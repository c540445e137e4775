"""Read a spec file's YAML safely: bounded size and depth, UTF-8 only, no aliases, plain types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

MAX_SPEC_BYTES = 256_000
"""A spec file larger than this is refused before it is parsed (the shipped ones are ~3 kB)."""
MAX_DEPTH = 24
"""Deepest allowed nesting of mappings and sequences (a valid spec needs 6)."""
MAX_NODES = 100_000
"""Most YAML nodes one file may hold."""


class SpecYamlError(Exception):
    """A located problem reading the file: `line`, `column` (1-based) and `message`."""

    def __init__(self, line: int, column: int, message: str):
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


def read_spec_yaml(path: Path) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree (for line:column) and the plain data of one spec file."""
    return parse_spec_text(_decode(_read_bounded(path)))


def parse_spec_text(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree and plain data of spec text (a file's, or an editor's buffer), under
    the same bounds as a file."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecYamlError(
            1, 1, f"text is larger than {MAX_SPEC_BYTES:,} bytes; a defect spec is a few kB"
        )
    loader = _SpecLoader(text)
    try:
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except yaml.YAMLError as error:
        raise _located(error) from None
    finally:
        loader.dispose()
    return root, data


def _read_bounded(path: Path) -> bytes:
    if not path.is_file():
        raise SpecYamlError(1, 1, "not a regular file (give a defects.yaml path)")
    with path.open("rb") as handle:
        data = handle.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise SpecYamlError(
            1, 1, f"file is larger than {MAX_SPEC_BYTES:,} bytes; a defect spec is a few kB"
        )
    return data


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecYamlError(1, 1, "file is UTF-16 encoded; save it as UTF-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position(data[: error.start])
        raise SpecYamlError(
            line,
            column,
            f"byte 0x{data[error.start]:02x} is not UTF-8 (a Latin-1 or binary file?); "
            "save the file as UTF-8",
        ) from None
    if "\x00" in text:
        line, column = _position(data[: data.index(b"\x00")])
        raise SpecYamlError(line, column, "NUL byte: this is a binary file, not YAML text")
    return text


def _position(before: bytes) -> tuple[int, int]:
    text = before.decode("utf-8", errors="replace")
    return text.count("\n") + 1, len(text) - (text.rfind("\n") + 1) + 1


def _located(error: yaml.YAMLError) -> SpecYamlError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    reason = getattr(error, "problem", None) or str(error)
    context, where = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and where and where is not mark:
        reason += f" ({context} at line {where.line + 1}, column {where.column + 1})"
    return SpecYamlError(line, col, f"YAML syntax error: {reason}")


class _SpecLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, deep nesting, huge files and non-plain tags."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ConstructorError(
                None,
                None,
                f"alias `*{event.anchor}` is not allowed in a defect spec; write the value out",
                event.start_mark,
            )
        event = self.peek_event()
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise ConstructorError(None, None, f"more than {MAX_NODES:,} values", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ConstructorError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def fetch_flow_collection_start(self, TokenClass):  # noqa: ANN001, ANN201, N803 - PyYAML's
        # the scanner's simple-key bookkeeping is quadratic in flow depth: stop before the parser
        if self.flow_level >= MAX_DEPTH:
            raise ConstructorError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", self.get_mark()
            )
        super().fetch_flow_collection_start(TokenClass)

    def construct_object(self, node, deep=False):  # noqa: ANN001, ANN201 - PyYAML's signature
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as error:
            raise ConstructorError(
                None, None, f"cannot read {node.value!r} as {node.tag}: {error}", node.start_mark
            ) from None


def _refuse_tag(loader: SafeConstructor, node: yaml.Node) -> Any:
    raise ConstructorError(
        None,
        None,
        f"tag `{node.tag}` is not allowed in a defect spec (only strings, numbers, booleans, "
        "null, lists and mappings)",
        node.start_mark,
    )


_PLAIN = ("null", "bool", "int", "float", "str", "seq", "map")
_SpecLoader.yaml_constructors = {
    f"tag:yaml.org,2002:{name}": SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in _PLAIN
}
for _as_text in ("timestamp", "value"):  # `2024-01-01` and `=` stay plain strings
    _SpecLoader.yaml_constructors[f"tag:yaml.org,2002:{_as_text}"] = SafeConstructor.construct_yaml_str
_SpecLoader.yaml_constructors[None] = _refuse_tag
