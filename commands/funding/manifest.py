"""Funding Lane: funding instruments, deadlines, corrections by facilitators."""
from pathlib import Path

from bot.framework.capability import Capability, Fallback
from bot.framework.i18n import N_
from storage.funding.digest import CONTRIBUTION as DIGEST
from commands.funding.admin_stats import admin_stats
from commands.funding.commands import cog, fallback_answer, fallback_probe
from commands.funding import curation
from commands.funding.overview import overview_section
from storage.funding import lookup, privacy
from storage.funding.dataset import DATASET
from storage.funding.models import FundingCandidate, FundingChange, FundingDeadline, FundingInstrument

HERE = Path(__file__).parent

MANIFEST = Capability(
    name="funding",
    cog=cog,
    summary="Funding instruments (EU, national, provincial, local) with status and deadlines",
    storage="storage.funding",
    models=(FundingInstrument, FundingCandidate, FundingChange, FundingDeadline),
    migrations=Path(privacy.__file__).parent / "migrations",
    catalogs=HERE / "locale",
    datasets=(DATASET,),
    privacy=privacy.RULES,
    overview=overview_section,
    jobs=(curation.SUMMARY_JOB,),
    # lookup: instruments named in chat (brokerage's !interest); calendar: deadlines of
    # followed instruments in a calendar feed. Neutral shapes: bot.framework.references.
    extras={"admin_stats": admin_stats, "admin_jobs": (curation.SUMMARY_JOB,), "lookup": lookup.lookup,
            "calendar": lookup.CALENDAR},
    digest=DIGEST,
    # A plain question without a funding word that clearly matches funding records is
    # answered with the funding search, not "I did not understand".
    fallback=Fallback(probe=fallback_probe, answer=fallback_answer),
    # Its line in the answer to "what can you do?" ({prefix}: the command prefix).
    intro=(N_("**Funding**: `{prefix}funding klimaatadaptatie`, `{prefix}funding energy --open`, "
              "`{prefix}funding <id>` for the whole record"),
           N_("**Deadlines**: `{prefix}deadlines 60d`, or ask *which grants close soon?*")),
)
