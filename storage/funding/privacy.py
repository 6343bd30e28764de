"""Which funding columns name a person: who edited or checked a record, who decided on a
candidate, who changed a record (all kept, anonymised: they are about the record, not the
person)."""
from bot.framework.i18n import N_
from storage.funding.models import FundingCandidate, FundingChange, FundingInstrument
from storage.privacy import Holding, Rules

RULES = Rules(
    holdings=(
        Holding(FundingInstrument, "updated_by", "anonymise", N_("funding records you edited"),
                lambda r, t: r.id, person=False),
        Holding(FundingInstrument, "checked_by", "anonymise", N_("funding records you checked"),
                lambda r, t: r.id, person=False),
        Holding(FundingCandidate, "decided_by", "anonymise", N_("funding candidates you accepted or dismissed"),
                lambda r, t: f"#{r.id}", person=False),
        Holding(FundingChange, "changed_by", "anonymise", N_("changes to funding records you made"),
                lambda r, t: f"{r.instrument_id}: {r.field}", person=False),
    ),
    labels={"funding.accept": N_("accepted a funding candidate"), "funding.dismiss": N_("dismissed a funding candidate"),
            "funding.refresh": N_("refreshed the funding data"), "funding.set": N_("changed a funding record"),
            "funding.verify": N_("checked a funding record"),
            "funding-candidates-summary": N_("summary of new funding candidates")},
    mentions={"funding_instruments": "redact", "funding_candidates": "redact", "funding_changes": "redact",
              "funding_deadlines": "delete"},   # derived from funding_instruments, names nobody
)
