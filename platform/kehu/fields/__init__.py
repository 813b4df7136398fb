"""Field types: each type is one class that knows its column, input schema, widget,
display, filters and import parsing. Built-ins register through the same plugin hook as
third-party types (see :mod:`kehu.fields.builtin`)."""

from kehu.fields.base import FieldType

__all__ = ["FieldType"]
