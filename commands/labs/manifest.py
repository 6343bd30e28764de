"""Living labs: find test and experiment facilities, pass on access requests."""
from pathlib import Path

from bot.framework.capability import Capability, Fallback
from commands.labs import fallback
from commands.labs.intents import INTENTS
from bot.framework.i18n import N_
from storage.labs.digest import CONTRIBUTION as DIGEST
from commands.labs.admin_stats import admin_stats
from commands.labs.commands import cog, stats
from commands.labs.overview import overview_section
from storage.labs import lookup, privacy
from storage.labs.dataset import DATASET
from storage.labs.models import Lab, LabRequest

MANIFEST = Capability(
    name="labs",
    cog=cog,
    intents=INTENTS,
    summary="Living labs and test facilities by theme, place and distance; access requests to their contacts",
    storage="storage.labs",
    models=(Lab, LabRequest),
    migrations=Path(privacy.__file__).parent / "migrations",
    catalogs=Path(__file__).parent / "locale",
    datasets=(DATASET,),
    privacy=privacy.RULES,
    overview=overview_section,
    stats=(stats,),
    # lookup: labs named in chat, with their contact (brokerage's !interest).
    extras={"admin_stats": admin_stats, "lookup": lookup.lookup},
    digest=DIGEST,
    # A plain question nothing else understood that clearly matches its records gets its search.
    fallback=Fallback(probe=fallback.probe, answer=fallback.answer_question),
    # Its line in the answer to "what can you do?" ({prefix}: the command prefix).
    intro=(N_("**Living labs**: `{prefix}labs climate adaptation --near Zwolle`, "
              "`{prefix}lab request <id> <what you want to test>`"),),
)
