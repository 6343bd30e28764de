"""One place registers a capability; a missing or misspelled one stops the start."""
from __future__ import annotations

import pytest

from commands import MODULES, CapabilityError, build_registry
from storage.models import Base


def test_every_capability_loads_with_its_data_set_and_tables():
    registry = build_registry()
    assert [c.name for c in registry.cogs] == MODULES
    assert sorted(registry.datasets) == ["funding", "knowledge", "labs"]
    for dataset in registry.datasets.values():
        assert dataset.model.__tablename__ in Base.metadata.tables
        assert dataset.start in [h for h in registry.startup_hooks]
    assert {"review_sessions", "session_participants", "session_reviews", "knowledge_feeds"} <= set(Base.metadata.tables)


def test_a_misspelled_capability_fails_loudly():
    with pytest.raises(CapabilityError, match="fundign"):
        build_registry(["core", "fundign"])
