"""Knowledge digests: topics people follow, one digest per period, deadline alerts."""
from pathlib import Path

from bot.framework.capability import Capability
from commands.digests.intents import INTENTS
from bot.framework.i18n import N_
from commands.digests.admin_stats import admin_stats
from commands.digests.commands import cog, stats
from commands.digests.delivery import DUE_KIND, RUN_KIND
from commands.digests.overview import overview_section
from storage.digests import privacy
from storage.digests.models import ChangeAlert, DeadlineAlert, DigestRecord, DigestSubscription

MANIFEST = Capability(
    name="digests",
    cog=cog,
    intents=INTENTS,
    summary="Topics to follow and one digest per period by direct message, with deadline alerts",
    storage="storage.digests",
    models=(DigestSubscription, DigestRecord, DeadlineAlert, ChangeAlert),
    migrations=Path(privacy.__file__).parent / "migrations",
    catalogs=Path(__file__).parent / "locale",
    privacy=privacy.RULES,
    jobs=(RUN_KIND, DUE_KIND),
    overview=overview_section,
    stats=(stats,),
    extras={"admin_stats": admin_stats, "admin_jobs": (RUN_KIND, DUE_KIND)},
    # Its line in the answer to "what can you do?" ({prefix}: the command prefix).
    intro=(N_("**Digests**: `{prefix}subscribe climate adaptation weekly`, `{prefix}topics`"),),
)
