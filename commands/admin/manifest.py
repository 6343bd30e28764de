"""Administration and your data: `!admin` for operators, `!mydata` for everyone."""
from pathlib import Path

from bot.framework.capability import Capability
from commands.admin.intents import INTENTS
from commands.admin.commands import cog

MANIFEST = Capability(
    name="admin",
    cog=cog,
    intents=INTENTS,
    summary="Operators' statistics, announcements, data reload and erasure; everyone's `!mydata`",
    catalogs=Path(__file__).parent / "locale",
)
