"""Which brokerage columns name a person. Interests, the organisation profile and the
calendar token go with the person (forgetting withdraws their interests and revokes the
feed); an introduction stays for the other person, without the forgotten one's name."""
from bot.framework.i18n import N_
from storage.brokerage.models import BrokerProfile, CalendarToken, Interest, Introduction
from storage.privacy import Holding, Rules, short

INTRO_STATES = {"pending": N_("waiting for an answer"), "accepted": N_("introduced"), "declined": N_("not introduced")}

RULES = Rules(
    holdings=(
        Holding(BrokerProfile, "user_id", "delete", N_("your organisation (brokerage)"),
                lambda r, t: f"{r.organisation} / {r.kind} / {r.region}"),
        Holding(Interest, "user_id", "delete", N_("interests you registered"),
                lambda r, t: f"#{r.id} {short(r.title, 80)}" + (f": {short(r.intent)}" if r.intent else "")),
        # The requester is never told a decline: their own line shows no answer.
        Holding(Introduction, "requester", "anonymise", N_("introductions you asked for"),
                lambda r, t: f"#{r.id} {short(r.title, 80)} ({t.short_date(r.created_at)})"),
        Holding(Introduction, "target", "anonymise", N_("introductions asked of you"),
                lambda r, t: f"#{r.id} {short(r.title, 80)} ({t(INTRO_STATES.get(r.status, r.status))})"),
        Holding(CalendarToken, "user_id", "delete", N_("your calendar feed address"),
                lambda r, t: t.short_date(r.created_at), person=False),
    ),
    labels={"brokerage.interest": N_("registered an interest"), "brokerage.introduced": N_("introduced two people"),
            "brokerage.offer": N_("made an offer for an interest")},
    mentions={"broker_profiles": "redact", "broker_interests": "redact", "broker_introductions": "redact",
              "broker_calendar_tokens": "delete"},
)
