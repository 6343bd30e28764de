"""Personal reminders: the smallest capability (a command, a job kind, no tables)."""
from bot.framework.capability import Capability
from bot.framework.i18n import N_
from commands.reminders.admin_stats import admin_stats
from commands.reminders import snooze  # noqa: F401  (its reply and reaction handlers hang off the cog)
from commands.reminders.commands import REMINDER_JOB, cog
from commands.reminders.intents import INTENTS
from storage.privacy import Rules

MANIFEST = Capability(
    name="reminders",
    cog=cog,
    summary="Personal reminders, kept in the scheduled-jobs table so they survive restarts",
    jobs=(REMINDER_JOB,),
    # A reminder is only for the person who asked: removed when they are forgotten.
    privacy=Rules(personal_jobs=(REMINDER_JOB,), labels={REMINDER_JOB: N_("reminder")}),
    intents=INTENTS,
    extras={"admin_stats": admin_stats, "admin_jobs": (REMINDER_JOB,)},
    # Its line in the answer to "what can you do?" ({prefix}: the command prefix).
    intro=(N_("**Reminders**: `{prefix}remindme 1w check the DUMAVA round`"),),
)
