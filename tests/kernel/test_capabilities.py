"""A capability is declared once (commands/<name>/manifest.py) and checked when it loads:
every enabled manifest is complete, and a missing or clashing piece stops the start with a
message that names the capability and the piece."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.framework.capability import Capability, CapabilityError, check
from bot.framework.command import Cog, Registry
from commands import ENABLED, build_registry, load_capabilities
from storage.models import Base


def test_every_capability_loads_with_its_data_set_and_tables():
    registry = build_registry()
    assert [c.name for c in registry.cogs] == ENABLED
    assert sorted(registry.datasets) == ["funding", "knowledge", "labs"]
    for dataset in registry.datasets.values():
        assert dataset.model.__tablename__ in Base.metadata.tables
        assert dataset.start in registry.startup_hooks
    assert {"review_sessions", "session_participants", "session_reviews", "knowledge_feeds"} <= set(Base.metadata.tables)


@pytest.mark.parametrize("cap", load_capabilities(), ids=lambda c: c.name)
def test_each_enabled_manifest_is_complete(cap: Capability):
    assert cap.summary, "a one-line summary of what it is for"
    assert cap.cog.commands or cap.cog.questions, "it offers commands or answers questions"
    for cmd in cap.cog.commands:
        assert cmd.summary, f"!{cmd.name} has a docstring (its help text)"
    if cap.storage:
        folder = Path(__import__(cap.storage, fromlist=["_"]).__file__).parent
        assert cap.models and cap.migrations and cap.privacy, "tables come with migrations and privacy rules"
        assert Path(cap.migrations).parent == folder, "its migrations live in its storage package"
        # Every table the capability's storage package defines is declared in the manifest.
        owned = {t.name for t in Base.metadata.tables.values()
                 if any(m.__table__ is t for m in cap.models)}
        defined = {m.class_.__tablename__ for m in Base.registry.mappers
                   if m.class_.__module__.startswith(cap.storage + ".")}
        assert owned == defined, f"declared {owned}, defined {defined}"
    if cap.catalogs:
        assert any(Path(cap.catalogs).glob("nl/LC_MESSAGES/*.po")), "a Dutch catalog"
    assert set(cap.jobs) == set(cap.cog.jobs)
    for source in (cap.digest,) if cap.digest else ():
        assert callable(source.parts)


def test_the_registry_collects_what_the_manifests_declare():
    registry = build_registry()
    assert len(registry.contributions("overview")) == 4        # funding, labs, knowledge, digests
    assert len(registry.contributions("digest")) == 5          # funding, labs, sessions, knowledge, brokerage
    assert len(registry.contributions("lookup")) == 2          # funding, labs (brokerage resolves names with them)
    assert len(registry.contributions("calendar")) == 2        # funding, sessions (the calendar feed's entries)
    assert len(registry.contributions("http_routes")) == 1     # brokerage's calendar feed
    assert {"reminder", "session-action-reminder"} == set(registry.privacy.personal_jobs)
    tables = set(Base.metadata.tables)
    assert set(registry.privacy.mentions) == tables


def test_a_misspelled_capability_fails_loudly():
    with pytest.raises(CapabilityError, match="fundign"):
        build_registry(["core", "fundign"])


def _labs() -> Capability:
    return next(c for c in load_capabilities(["labs"]))


@pytest.mark.parametrize("change, message", [
    (dict(name="lab"), "calls it 'lab'"),
    (dict(storage="storage.nowhere"), "storage package storage.nowhere does not exist"),
    (dict(migrations=None), "no migrations folder"),
    (dict(privacy=None), "no privacy rules"),
    (dict(catalogs=Path("/nonexistent")), "no nl catalog"),
    (dict(jobs=("lab-poll",)), "declares job kinds"),
])
def test_an_incomplete_manifest_is_refused_naming_the_piece(change, message):
    broken = dataclasses.replace(_labs(), **change)
    with pytest.raises(CapabilityError, match=message):
        check(broken, "labs")


def test_privacy_rules_must_cover_exactly_its_tables():
    labs = _labs()
    rules = dataclasses.replace(labs.privacy, mentions={"labs": "redact"})   # lab_requests forgotten
    with pytest.raises(CapabilityError, match="privacy rules cover tables"):
        check(dataclasses.replace(labs, privacy=rules), "labs")
    personal = dataclasses.replace(labs.privacy, personal_jobs=("lab-reminder",))
    with pytest.raises(CapabilityError, match="personal job kinds"):
        check(dataclasses.replace(labs, privacy=personal), "labs")


def test_clashing_command_and_subcommand_names_are_refused():
    one, two = Cog("one", "One"), Cog("two", "Two")

    @one.command("ping")
    async def ping(ctx):
        """Ping."""

    @two.command("pong", aliases=("ping",))
    async def pong(ctx):
        """Pong."""

    with pytest.raises(ValueError, match="'ping' is used twice"):
        Registry([one, two])

    @one.command("group")
    async def group(ctx):
        """A group."""

    @group.subcommand("show")
    async def show(ctx):
        """Show."""

    with pytest.raises(ValueError, match="subcommand name 'show' of 'group' is used twice"):
        @group.subcommand("list", aliases=("show",))
        async def listing(ctx):
            """List."""
