"""Which session columns name a person. Sign-ups and votes go with them; reviews, actions,
sessions and polls stay for the others who rely on them, without the person's name."""
from bot.framework.i18n import N_
from storage.privacy import Holding, Rules, short
from storage.sessions.calendar_feed import ROLE_LABELS   # role keys by name, as the calendar feed shows them
from storage.sessions.models import Participant, PollVote, Review, ReviewSession, SessionAction, SessionPoll

RULES = Rules(
    holdings=(
        Holding(Participant, "user_id", "delete", N_("session sign-ups"),
                lambda r, t: f"#{r.session_id} {t(ROLE_LABELS[r.role]) if r.role in ROLE_LABELS else r.role} "
                             f"({t(N_('taking part')) if r.state == 'going' else t(ROLE_LABELS['waiting']) if r.state == 'waiting' else r.state})"),
        Holding(PollVote, "user_id", "delete", N_("poll votes"), lambda r, t: f"#{r.poll_id}"),
        Holding(Review, "reviewer", "anonymise", N_("reviews (kept without your name)"),
                lambda r, t: f"#{r.session_id} " + t(N_("submitted") if r.submitted_at else N_("draft")),
                also={"named": False, "step": None}),
        Holding(SessionAction, "owner", "anonymise", N_("session actions you own"),
                lambda r, t: f"#{r.session_id}: {short(r.text)}"),
        Holding(SessionAction, "created_by", "anonymise", N_("session actions you recorded"),
                lambda r, t: f"#{r.session_id}: {short(r.text)}"),
        Holding(ReviewSession, "facilitator", "anonymise", N_("sessions you facilitate"),
                lambda r, t: f"#{r.id} {short(r.title)}"),
        Holding(SessionPoll, "facilitator", "anonymise", N_("time-slot polls you started"),
                lambda r, t: f"#{r.id} {short(r.title)}"),
    ),
    labels={"session-reminder": N_("session reminder"), "session-announce-react": N_("session announcement"),
            "session-round": N_("next round of a session"), "session-report": N_("session report"),
            "session-action-reminder": N_("reminder of a session action")},
    mentions={"review_sessions": "redact", "session_participants": "delete", "session_reviews": "redact",
              "session_actions": "redact", "session_polls": "redact", "session_poll_votes": "delete"},
    # Only for the action's owner: removed with them. The manifest check holds it to the
    # job kinds sessions declares, so a misspelt kind stops the start.
    personal_jobs=("session-action-reminder",),
)
