"""Regular expressions from metadata, run in RE2: linear time, whatever the pattern.

Python's ``re`` backtracks: ``^(a+)+$`` against 'aaaa…!' held a worker for minutes. RE2
(google-re2) matches in time linear in the input and refuses what it cannot do that way
(back-references, look-arounds), so such a pattern is a load-time problem with its file and
line (:func:`problem`), never a slow request.
"""

from __future__ import annotations

from functools import lru_cache

import re2
from marshmallow import ValidationError, validate

# metadata patterns are short (the schema caps them at 500 characters); RE2's memory for one
# compiled pattern is capped too, so a pattern with huge counted repeats is refused at load
MAX_MEMORY = 8 << 20


def _options() -> "re2.Options":
    options = re2.Options()
    options.log_errors = False  # the error is reported as a metadata problem, not on stderr
    options.max_mem = MAX_MEMORY
    return options


@lru_cache(maxsize=1024)
def compile(pattern: str):  # noqa: A001  (the module's one verb, like re.compile)
    """The compiled pattern; raises ``re2.error`` when RE2 cannot run it."""
    return re2.compile(pattern, _options())


def problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used (a message for a metadata problem), or None."""
    try:
        compile(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return (f"not a regular expression Kehu can run: {reason} (patterns use RE2 syntax, which runs in linear "
                "time: no back-references or look-arounds)")
    return None


class Matches(validate.Validator):
    """Like marshmallow's ``Regexp`` (the pattern must match at the start of the value), in RE2."""

    def __init__(self, pattern: str, error: str):
        self.pattern = pattern
        self.error = error

    def __call__(self, value):
        if value is not None and compile(self.pattern).match(str(value)) is None:
            raise ValidationError(self.error)
        return value
