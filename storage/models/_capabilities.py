"""Capability models are imported here (one line each) so Base.metadata knows them."""
import importlib

for _name in ("funding", "labs"):
    try:
        importlib.import_module(f"storage.models.{_name}")
    except ModuleNotFoundError as exc:  # capability not written yet
        if exc.name != f"storage.models.{_name}":
            raise
