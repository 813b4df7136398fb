"""Metadata: documents on disk -> validated -> merged layers -> one immutable snapshot."""

from kehu.metadata.loader import load_metadata
from kehu.metadata.model import Metadata
from kehu.metadata.problems import MetadataError, Problem

__all__ = ["load_metadata", "Metadata", "MetadataError", "Problem"]
