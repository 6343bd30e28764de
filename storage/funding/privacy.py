"""Which funding columns name a person: who edited or checked a record, and who decided on a
candidate (kept, anonymised)."""
from bot.framework.i18n import N_
from storage.funding.models import FundingCandidate, FundingInstrument
from storage.privacy import Holding, Rules

RULES = Rules(
    holdings=(
        Holding(FundingInstrument, "updated_by", "anonymise", N_("funding records you edited"),
                lambda r, t: r.id, person=False),
        Holding(FundingInstrument, "checked_by", "anonymise", N_("funding records you checked"),
                lambda r, t: r.id, person=False),
        Holding(FundingCandidate, "decided_by", "anonymise", N_("funding candidates you accepted or dismissed"),
                lambda r, t: f"#{r.id}", person=False),
    ),
    mentions={"funding_instruments": "redact", "funding_candidates": "redact"},
)
