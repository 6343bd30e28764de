"""Issue 17's closing figures, measured, not typed: on 2026-12-05, with the bundled data after
the fact-check corrections, the replayed REAL EU portal rows brought in by the refresh through
the real client, and the replayed REAL SRU recording brought in by the Dutch refresh: how many
records are open, forthcoming and closed, and how many candidates the Dutch source produced."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import select

from storage.funding.candidates import refresh_bekendmakingen
from storage.funding.models import FundingCandidate, FundingInstrument
from storage.funding.records import status_of
from storage.funding.refresh import refresh_eu_ft
from support.eu_ft_replay import RealPortal, recorded_rows
from support.funding_env import funding_services
from support.sru_replay import REAL, SruReplay

PRETEND = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
ALL = ["nmmonteiro_search_text-AI_2025-12-05_b.json", "nmmonteiro_search_text-topicid_2025-12-05.json",
       "paulmazaingue_search_all_2025-05-05.json", "aarhusai_portal_search_page_TRIMMED_2026.json",
       "fundhunt_sedia_search_TRIMMED_2026.json", "fundhunt_sedia_cascade_TRIMMED_2025.json",
       "sensefound_sedia-sample_EXCERPT_2026-09-01.json"]


async def _statuses(db) -> Counter:
    async with db.session() as s:
        return Counter(status_of(r, PRETEND) for r in (await s.scalars(select(FundingInstrument))).all())


async def test_figures_as_of_5_december_2026(tmp_path, capsys):
    services = await funding_services(tmp_path, now=PRETEND)
    try:
        bundled = await _statuses(services.db)
        # The bundled 41 after the corrections: DUMAVA 2026 unknown (was closed), Interreg VL-NL call 4
        # closed (was unknown), Limburg continuous until 31-12-2026 (not 2027).
        assert bundled == Counter({"closed": 19, "unknown": 13, "forthcoming": 4, "continuous": 4,
                                   "invitation_only": 1})
        settings = services.settings
        with RealPortal(rows=recorded_rows(*ALL)) as portal:
            settings.funding.eu_ft_url = portal.url
            eu = await refresh_eu_ft(services.db, settings, now=PRETEND)
        with SruReplay(files=[REAL]) as sru:
            settings.funding.bekendmakingen_url = sru.url
            nl = await refresh_bekendmakingen(services.db, settings, now=PRETEND)
        after = await _statuses(services.db)
        async with services.db.session() as s:
            candidates = len((await s.scalars(select(FundingCandidate))).all())
        with capsys.disabled():
            print(f"\n2026-12-05 bundled (corrected): {dict(bundled)}\n  {eu.line()}\n  {nl.line()}\n"
                  f"  all records: {sum(after.values())}: {dict(after)}; Dutch candidates: {candidates}")
        assert candidates == 0 and nl.read == 1
        assert sum(after.values()) == 41 + len(eu.created)
    finally:
        await services.db.dispose()
