"""Read one YAML/JSON metadata document, keeping the line of every key and item.

``yaml.safe_load`` forgets positions, so the node tree is composed first with the safe
loader, walked once to build both the value and a map from document path to line, and
duplicate mapping keys (which YAML silently overwrites) are reported as problems.

Metadata comes from packs and, later, from people in a designer, so reading is capped
before it can cost minutes or a crash (SECURITY.md rule 27): the document's size, its
nesting depth, the number of aliases and the number of values once aliases are expanded
(a "billion laughs" document is a few lines that expand to billions). Each cap is one
problem at the line where it was reached.

A field's ``default`` keeps the text the author wrote: YAML would turn ``default: 010``
into 8, ``default: yes`` into true and ``default: 2024-01-01`` into a date, so a plain
(unquoted) scalar there is kept as its source text, and the field's type reads it as it
reads form input (:meth:`kehu.fields.base.FieldType.default`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError

from kehu.metadata.problems import Problem

DocPath = tuple  # of str keys and int indexes

MAX_BYTES = 1_000_000  # a document larger than this is not metadata
MAX_DEPTH = 40  # nested mappings and lists
MAX_ALIASES = 100  # *references to &anchors
MAX_VALUES = 100_000  # keys, items and scalars, once aliases are expanded


class _CappedLoader(yaml.SafeLoader):
    """The safe loader, refusing documents nested too deeply or using too many aliases
    while it composes them (before any of it is expanded)."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise ComposerError(None, None, f"more than {MAX_ALIASES} aliases (*name); write the values out",
                                    self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _kept_as_written(path: DocPath) -> bool:
    """Plain scalars kept as their source text (see the module's docstring): a field's
    default, ``fields.<name>.default``."""
    return len(path) == 3 and path[0] == "fields" and path[2] == "default"


class _TooLarge(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


@dataclass
class Document:
    file: str
    data: Any
    lines: dict[DocPath, int] = field(default_factory=dict)
    pack: str = ""

    @property
    def kind(self) -> str | None:
        return self.data.get("kind") if isinstance(self.data, dict) else None

    def line(self, path: DocPath) -> int:
        """The line of ``path`` or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def problem(self, path: DocPath, message: str, about: tuple[str, str] = ()) -> Problem:
        """A problem at ``path``; ``about`` names the (kind, name) it stems from when that is
        another document's (a lookup to an entity), so it can be left out when that document
        itself failed to load."""
        return Problem(self.file, self.line(path), ".".join(str(p) for p in path), message, about)


class _Builder:
    def __init__(self, doc: Document, problems: list[Problem]):
        self.doc = doc
        self.problems = problems
        self.constructor = yaml.SafeLoader("")
        self.values = 0

    def build(self, node, path: DocPath):
        self.values += 1
        if self.values > MAX_VALUES:  # reported at the top-level key whose value grew too large
            raise _TooLarge(self.doc.line(path[:1]))
        self.doc.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, path + ("<key>",))
                self.doc.lines.pop(path + ("<key>",), None)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    self.problems.append(self.doc.problem(path, "mapping keys must be plain text"))
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in result:
                    self.problems.append(
                        Problem(self.doc.file, key_node.start_mark.line + 1,
                                ".".join(str(p) for p in path + (key,)),
                                f"duplicate key '{key}' (first at line {self.doc.lines[path + (key,)]})")
                    )
                    continue
                self.doc.lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if _kept_as_written(path) and node.style is None and node.tag != "tag:yaml.org,2002:null":
            return node.value  # the text as written: 010, yes, 2024-01-01
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # e.g. a date like 2024-13-01
            raise yaml.constructor.ConstructorError(None, None, f"cannot read {node.value!r}: {exc}", node.start_mark) from None


def read_document(path: Path, display: str, problems: list[Problem]) -> Document | None:
    """Read ``path``; append problems and return None when it cannot be read at all."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            problems.append(Problem(display, 1, "", f"the document is larger than {MAX_BYTES:,} bytes; split it"))
            return None
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, 1, "", f"cannot read file: {exc}"))
        return None
    return parse_document(text, display, problems)


def parse_document(text: str, display: str, problems: list[Problem]) -> Document | None:
    """Parse the text of one document (read from ``display``); None when it cannot be used."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        problems.append(Problem(display, 1, "", f"the document is larger than {MAX_BYTES:,} bytes; split it"))
        return None
    try:
        loader = _CappedLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problems.append(Problem(display, line, "", f"not valid YAML: {getattr(exc, 'problem', exc)}"))
        return None
    doc = Document(display, None)
    if node is None:
        problems.append(Problem(display, 1, "", "the document is empty"))
        return None
    try:
        doc.data = _Builder(doc, problems).build(node, ())
    except _TooLarge as exc:
        problems.append(Problem(display, exc.line, "", f"more than {MAX_VALUES:,} values once its aliases are expanded; "
                                                      "write the document without aliases"))
        return None
    except yaml.YAMLError as exc:  # e.g. an unknown tag: report its line, in one line
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problems.append(Problem(display, line, "", f"not valid YAML: {getattr(exc, 'problem', None) or exc}"))
        return None
    if not isinstance(doc.data, dict):
        problems.append(doc.problem((), "a metadata document must be a mapping with a 'kind'"))
        return None
    return doc
