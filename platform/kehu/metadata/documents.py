"""Read one YAML/JSON metadata document, keeping the line of every key and item.

``yaml.safe_load`` forgets positions, so the node tree is composed first with the safe
loader, walked once to build both the value and a map from document path to line, and
duplicate mapping keys (which YAML silently overwrites) are reported as problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kehu.metadata.problems import Problem

DocPath = tuple  # of str keys and int indexes


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

    def problem(self, path: DocPath, message: str) -> Problem:
        return Problem(self.file, self.line(path), ".".join(str(p) for p in path), message)


class _Builder:
    def __init__(self, doc: Document, problems: list[Problem]):
        self.doc = doc
        self.problems = problems
        self.constructor = yaml.SafeLoader("")

    def build(self, node, path: DocPath):
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
        return self.constructor.construct_object(node, deep=True)


def read_document(path: Path, display: str, problems: list[Problem]) -> Document | None:
    """Read ``path``; append problems and return None when it cannot be read at all."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, 1, "", f"cannot read file: {exc}"))
        return None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
    except yaml.YAMLError as exc:  # e.g. an unknown tag: report its line, in one line
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problems.append(Problem(display, line, "", f"not valid YAML: {getattr(exc, 'problem', None) or exc}"))
        return None
    if not isinstance(doc.data, dict):
        problems.append(doc.problem((), "a metadata document must be a mapping with a 'kind'"))
        return None
    return doc
