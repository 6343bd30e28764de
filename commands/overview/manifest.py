"""The topic overview: a message that only names a topic gets what the hub holds on it."""
from pathlib import Path

from bot.framework.capability import Capability
from commands.overview.commands import cog

MANIFEST = Capability(
    name="overview",
    cog=cog,
    summary="A topic word alone ('klimaat') gets each capability's overview section in one answer",
    catalogs=Path(__file__).parent / "locale",
)
