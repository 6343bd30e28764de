"""Which funding columns name a person: who edited or checked a record (kept, anonymised)."""
from bot.framework.i18n import N_
from storage.funding.models import FundingInstrument
from storage.privacy import Holding, Rules

RULES = Rules(
    holdings=(
        Holding(FundingInstrument, "updated_by", "anonymise", N_("funding records you edited"),
                lambda r, t: r.id, person=False),
        Holding(FundingInstrument, "checked_by", "anonymise", N_("funding records you checked"),
                lambda r, t: r.id, person=False),
    ),
    mentions={"funding_instruments": "redact"},
)
