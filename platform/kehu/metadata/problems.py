"""Metadata problems carry a file, a line and a path inside the document."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str
    message: str
    # (kind, name) of what another document should define, for problems that follow from it
    # (e.g. ("entity", "customer") for a lookup to customer): see loader.follow_ons
    about: tuple = field(default=(), compare=False)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class MetadataError(Exception):
    """Raised with every problem found, so one run reports them all."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line, p.path, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" Did you mean '{match[0]}'?" if match else ""
