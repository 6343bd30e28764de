"""A capability declared once: its manifest names everything it brings, and the loader
refuses to start a bot with a piece missing or clashing (maubot's plugin manifest, Home
Assistant's integration manifest checked by hassfest).

    commands/<name>/manifest.py   MANIFEST = Capability(name=..., cog=..., ...)
    commands/<name>/*.py          its commands, jobs, question handlers
    storage/<name>/               its models, queries, migrations, bundled data, privacy rules

The kernel only reads manifests; it never imports a capability by name (the loader imports
`commands.<name>.manifest` for each enabled name). Contributions to shared answers (the
digest, the topic overview, `!admin stats`) are declared here and collected through the
Registry, so no capability imports another."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    from bot.framework.command import Cog
    from bot.framework.intents import Intent
    from storage.datasets import DataSet
    from storage.privacy import Rules


class CapabilityError(RuntimeError):
    """A capability that is listed but incomplete or clashing: the bot must not start half."""


@dataclass(frozen=True)
class Section:
    """One capability's part of the topic overview ("klimaat" alone): how many things it
    holds on the words, a short Markdown block, and the topics of what it found (the
    overview names the topic most of it is about first). A `trailing` section (the digest's
    "follow this topic") is a closing line, asked for only when a topic was recognised."""
    count: int
    text: str
    themes: tuple[tuple[str, ...], ...] = ()
    trailing: bool = False


# Contribution signatures (called by the collecting capability):
#   overview(ctx, query: str, topic: storage.topics.Topic | None) -> Section | None
#   stats(session) -> list[(English label msgid, count)]    lines for `!about` and `!admin stats`
Overview = Callable[..., Awaitable["Section | None"]]
Stats = Callable[..., Awaitable[list[tuple[str, int]]]]


@dataclass(frozen=True)
class Fallback:
    """A capability's search as the answer to a plain question nothing else took (issue 18:
    "never shrugs"). When no intent, question handler or small talk answered a sentence that
    is not a command, the kernel asks every capability's `probe(ctx, text) -> float`: how
    clearly the sentence matches that capability's records by the strict rule (0.0 not at all,
    up to 1.0 for every content word in one record; a probe returns 0.0 unless several of the
    sentence's own words are found together). The capability whose probe is highest answers
    with `answer(ctx, text)`, its ordinary search answer; ties go to capability order. When
    every probe says 0.0 (nonsense, chit-chat) the reply stays "I did not understand"."""
    probe: Callable[..., Awaitable[float]]
    answer: Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Capability:
    name: str
    cog: "Cog"
    summary: str                                      # one line: what it is for (CONTRIBUTING, `!about`)
    storage: str | None = None                        # its storage package, e.g. "storage.funding"
    models: tuple[Any, ...] = ()                      # ORM classes of the tables it owns
    migrations: Path | None = None                    # its Alembic version location
    catalogs: Path | None = None                      # folder holding locale/<lang>/LC_MESSAGES/<domain>.po
    datasets: tuple["DataSet", ...] = ()              # curated data: bundled file, import/export, reindex
    privacy: "Rules | None" = None                    # which of its columns name a person, what erasure does
    jobs: tuple[str, ...] = ()                        # job kinds it plans (each has a handler in its cog)
    digest: Any = None                                # contribution to the digest (bot.framework.digest_parts.Contribution)
    overview: Overview | None = None                  # contribution to the topic overview
    stats: tuple[Stats, ...] = ()                     # contributions to `!about` / `!admin stats`
    intro: tuple[str, ...] = ()                       # English msgids for "what can you do?" ({prefix})
    requires: tuple[str, ...] = ()                    # capabilities that must be enabled too
    intents: tuple["Intent", ...] = ()                # what plain sentences it serves (bot.framework.intents)
    fallback: Fallback | None = None                  # its search for plain questions nothing else took
    extras: dict[str, Any] = field(default_factory=dict)  # named contributions for a collecting capability


LANGUAGES_WITH_CATALOGS = ("nl",)


def load(names: list[str] | tuple[str, ...], package: str = "commands") -> list[Capability]:
    """Import `<package>.<name>.manifest` for each name and check each manifest; a
    missing or clashing piece raises CapabilityError naming the capability and the piece."""
    caps: list[Capability] = []
    for name in names:
        module_name = f"{package}.{name}.manifest"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name in (f"{package}.{name}", module_name):
                raise CapabilityError(f"capability {name!r} is enabled but {module_name.replace('.', '/')}.py "
                                      "does not exist") from None
            raise
        cap = getattr(module, "MANIFEST", None)
        if not isinstance(cap, Capability):
            raise CapabilityError(f"{module_name} has no MANIFEST = Capability(...)")
        check(cap, name)
        caps.append(cap)
    _register(caps)
    enabled = {c.name for c in caps}
    for cap in caps:
        missing = [r for r in cap.requires if r not in enabled]
        if missing:
            raise CapabilityError(f"capability {cap.name!r} needs {', '.join(missing)} enabled too")
    return caps


def check(cap: Capability, name: str) -> None:
    """Everything a manifest names must exist and agree with the code it declares."""
    def fail(what: str) -> None:
        raise CapabilityError(f"capability {name!r}: {what}")

    if cap.name != name:
        fail(f"its manifest calls it {cap.name!r}")
    if cap.cog.name != name:
        fail(f"its cog is named {cap.cog.name!r}")
    if cap.storage is not None:
        try:
            importlib.import_module(cap.storage)
        except ModuleNotFoundError:
            fail(f"its storage package {cap.storage} does not exist")
    if cap.models and cap.storage is None:
        fail("declares models but no storage package")
    for model in cap.models:
        if not model.__module__.startswith(f"{cap.storage}."):
            fail(f"model {model.__name__} lives in {model.__module__}, not in its storage package {cap.storage}")
    if cap.migrations is not None and not any(Path(cap.migrations).glob("[0-9]*.py")):
        fail(f"its migrations folder {cap.migrations} holds no migration")
    if cap.models and cap.migrations is None:
        fail("has tables but no migrations folder")
    if cap.models and cap.privacy is None:
        fail("has tables but no privacy rules (which columns name a person, what erasure does)")
    if cap.privacy is not None:
        tables = {m.__tablename__ for m in cap.models}
        ruled = set(cap.privacy.mentions)
        if tables != ruled:
            fail(f"privacy rules cover tables {sorted(ruled)} but it owns {sorted(tables)}")
        unknown = [k for k in cap.privacy.personal_jobs if k not in cap.jobs]
        if unknown:
            fail(f"privacy names personal job kinds it does not declare: {unknown}")
    if cap.catalogs is not None:
        for lang in LANGUAGES_WITH_CATALOGS:
            folder = Path(cap.catalogs) / lang / "LC_MESSAGES"
            if not any(folder.glob("*.po")) and not any(folder.glob("*.mo")):
                fail(f"has no {lang} catalog in {folder}")
    handlers = set(cap.cog.jobs)
    if handlers != set(cap.jobs):
        fail(f"declares job kinds {sorted(cap.jobs)} but its cog handles {sorted(handlers)}")
    for ds in cap.datasets:
        if cap.storage is None or not ds.model.__module__.startswith(f"{cap.storage}."):
            fail(f"data set {ds.name!r} is not stored in its own storage package")


def _register(caps: list[Capability]) -> None:
    """What the kernel and the storage core read from manifests without importing a
    capability: catalogs (every reply's language) and bilingual texts (the language signal)."""
    from bot.framework import i18n
    from storage import vocabulary

    for cap in caps:
        if cap.catalogs is not None:
            i18n.add_catalogs(cap.catalogs)
        for ds in cap.datasets:
            vocabulary.add_texts(ds)
