"""Peer-review sessions ("test before invest"): planning, polls, reviews, the report."""
from pathlib import Path

from bot.framework.capability import Capability
from bot.framework.i18n import N_
from storage.sessions.digest import CONTRIBUTION as DIGEST
# Each part hangs its commands and jobs off the cog in base.py; a missing part fails here.
from commands.sessions import calendar, formats, planning, polls, reactions, report, reviews  # noqa: F401
from commands.sessions.base import cog
from commands.sessions.intents import INTENTS
from storage.sessions import calendar_feed, privacy
from storage.sessions.models import (
    Participant, PollVote, Review, ReviewSession, SessionAction, SessionPoll,
)

MANIFEST = Capability(
    name="sessions",
    cog=cog,
    summary="Peer-review sessions: planning, slot polls, reminders, structured reviews and the presenter's report",
    storage="storage.sessions",
    models=(ReviewSession, Participant, Review, SessionAction, SessionPoll, PollVote),
    migrations=Path(privacy.__file__).parent / "migrations",
    catalogs=Path(__file__).parent / "locale",
    privacy=privacy.RULES,
    jobs=(planning.REMINDER_JOB, reactions.REACT_JOB, formats.ROUND_JOB, report.REPORT_JOB, report.ACTION_REMINDER_JOB),
    digest=DIGEST,
    intents=INTENTS,
    # A person's sessions and action items in their calendar feed (brokerage serves it).
    extras={"calendar": calendar_feed.SOURCE},
    # Its line in the answer to "what can you do?" ({prefix}: the command prefix).
    intro=(N_("**Peer-review sessions**: `{prefix}sessions`, `{prefix}session join <number>`, "
              "`{prefix}review <number>`; facilitators plan with `{prefix}session new`"),),
)
