"""Capability models, imported here so Base.metadata (and Alembic) know every table.
A missing or misspelled module fails at import, loudly: no capability is optional."""
import importlib

CAPABILITY_MODELS = ("funding", "labs", "sessions", "knowledge", "digests")

for _name in CAPABILITY_MODELS:
    importlib.import_module(f"storage.models.{_name}")
