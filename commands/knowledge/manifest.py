"""Knowledge transfer: share and find lessons, cases, tools, events; partners' feeds."""
from pathlib import Path

from bot.framework.capability import Capability, Fallback
from commands.knowledge import fallback
from commands.knowledge.intents import INTENTS
from bot.framework.i18n import N_
from storage.knowledge.digest import CONTRIBUTION as DIGEST
from commands.knowledge.admin_stats import admin_stats
from commands.knowledge import feeds
from commands.knowledge.commands import cog
from commands.knowledge.overview import overview_section
from commands.knowledge.settings_check import check_settings
from storage.knowledge import privacy
from storage.knowledge.dataset import DATASET
from storage.knowledge.models import KnowledgeFeed, KnowledgeItem

MANIFEST = Capability(
    name="knowledge",
    cog=cog,
    intents=INTENTS,
    summary="Shared knowledge (lessons, cases, tools, events) from members and partners' feeds",
    storage="storage.knowledge",
    models=(KnowledgeItem, KnowledgeFeed),
    migrations=Path(privacy.__file__).parent / "migrations",
    catalogs=Path(__file__).parent / "locale",
    datasets=(DATASET,),
    privacy=privacy.RULES,
    jobs=(feeds.POLL_KIND,),
    overview=overview_section,
    extras={"admin_stats": admin_stats, "admin_jobs": (feeds.POLL_KIND,), "check_settings": check_settings},
    digest=DIGEST,
    # A plain question nothing else understood that clearly matches its records gets its search.
    fallback=Fallback(probe=fallback.probe, answer=fallback.answer_question),
    # Its line in the answer to "what can you do?" ({prefix}: the command prefix).
    intro=(N_("**Knowledge**: `{prefix}knowledge circular procurement`, "
              "`{prefix}share <link> \"title\"`"),),
)
