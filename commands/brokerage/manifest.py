"""Brokerage: who else works towards a call, lab or topic; introductions; the calendar feed."""
from pathlib import Path

from bot.framework.capability import Capability
from bot.framework.i18n import N_
from commands.brokerage import calendar
from commands.brokerage.commands import cog
from storage.brokerage import privacy
from storage.brokerage.digest import CONTRIBUTION as DIGEST
from storage.brokerage.models import BrokerProfile, CalendarToken, Interest, Introduction

MANIFEST = Capability(
    name="brokerage",
    cog=cog,
    summary="Interest in calls, labs and topics; partners and consented introductions; a private calendar feed",
    storage="storage.brokerage",
    models=(BrokerProfile, Interest, Introduction, CalendarToken),
    migrations=Path(privacy.__file__).parent / "migrations",
    catalogs=Path(__file__).parent / "locale",
    privacy=privacy.RULES,
    digest=DIGEST,     # "Who else": counts of organisations per call on followed topics
    # Names resolve through funding's and labs' "lookup"; the feed's entries come from the
    # "calendar" contributions (sessions, funding); the feed is served on the listener.
    extras={"http_routes": (calendar.ROUTE,)},
    intro=(N_("**Partners**: `{prefix}interest dumava \"renovate our town hall\"`, `{prefix}partners dumava`, "
              "`{prefix}introduce <number>`"),
           N_("**Calendar**: `{prefix}calendar` gives you a private feed for Outlook, Google or Apple Calendar")),
)
