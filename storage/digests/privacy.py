"""Which digest columns name a person: subscriptions and what was sent (deleted with them);
a room subscription someone set up stays for the room, under a pseudonym."""
from sqlalchemy import select

from bot.framework.i18n import N_
from storage.digests.models import ChangeAlert, DeadlineAlert, DigestRecord, DigestSubscription
from storage import topics
from storage.privacy import Holding, Rules, aware, state_label


def topic_names(t, ids) -> str:
    """Followed topics by name in the reader's language (an id only for a topic no longer listed)."""
    return ", ".join((x.label(t.lang) if (x := topics.get(tid)) else tid) for tid in ids or ())

RULES = Rules(
    holdings=(
        # Before the subscriptions: found through them.
        Holding(DigestRecord, "subscription_id", "delete", N_("digests sent to you"),
                lambda r, t: f"{r.period_key}: {r.items}",
                subquery=lambda user: DigestRecord.subscription_id.in_(
                    select(DigestSubscription.id).where(DigestSubscription.subscriber == user)), person=False),
        Holding(DigestSubscription, "subscriber", "delete", N_("digest subscriptions"),
                lambda r, t: f"{topic_names(t, r.topics)} ({state_label(t, r.frequency)}, {r.at_time})"),
        Holding(DigestSubscription, "created_by", "pseudonym", N_("room subscriptions you set up"),
                lambda r, t: f"{r.subscriber}: {topic_names(t, r.topics)}",
                where=(DigestSubscription.is_room.is_(True),)),
        Holding(DeadlineAlert, "subscriber", "delete", N_("deadline alerts sent to you"),
                lambda r, t: f"{r.instrument_id} {t.date(aware(r.deadline_at))}", person=False),
        Holding(ChangeAlert, "subscriber", "delete", N_("change alerts sent to you"),
                lambda r, t: f"{r.change_key} {t.date(aware(r.sent_at))}", person=False),
    ),
    labels={"digest-run": N_("sending the digests"), "digest-due": N_("a digest that is due")},
    mentions={"digest_subscriptions": "redact", "digest_records": "redact", "digest_deadline_alerts": "delete",
              "digest_change_alerts": "delete"},
)
