"""Which lab columns name a person: access requests (the requester's, deleted with them;
the responder's, anonymised) and a lab's contact (anonymised: the lab stays)."""
from bot.framework.i18n import N_
from storage.labs.models import Lab, LabRequest
from storage.privacy import REQUEST_STATES, Holding, Rules, short, state_label

RULES = Rules(
    holdings=(
        Holding(LabRequest, "requester", "delete", N_("lab access requests"),
                lambda r, t: f"#{r.id} {r.lab_id} ({state_label(t, r.status, REQUEST_STATES)}): {short(r.text)}"),
        Holding(LabRequest, "responder", "anonymise", N_("lab requests you answered"),
                lambda r, t: f"#{r.id} {r.lab_id} ({state_label(t, r.status, REQUEST_STATES)})"),
        Holding(Lab, "contact", "anonymise", N_("living labs with you as contact"), lambda r, t: r.id, person=False),
        Holding(Lab, "checked_by", "anonymise", N_("living labs you checked"), lambda r, t: r.id, person=False),
    ),
    labels={"labs.request": N_("asked a lab for access"), "labs.request.accepted": N_("accepted an access request"),
            "labs.request.declined": N_("declined an access request")},
    mentions={"labs": "redact", "lab_requests": "redact"},
    not_user_columns={"labs.target_users": "the kinds of organisation a lab serves, e.g. municipalities"},
)
