"""Shared helpers for validated, all-or-nothing data imports."""
from __future__ import annotations


class ImportError_(Exception):
    """A data file was rejected; the message lists record numbers and fields."""
