"""The record service: the one way records are created, read, changed, listed and deleted."""

from kehu.records.service import Actor, RecordService

__all__ = ["Actor", "RecordService"]
