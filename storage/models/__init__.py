"""The core tables (storage/models/core.py) and the declarative Base every capability's
models (storage/<name>/models.py) derive from. A capability's tables are known once its
manifest is loaded (commands.load_capabilities)."""
from storage.models.base import Base
from storage.models import core  # noqa: F401

__all__ = ["Base"]
