"""New Dutch subsidy regulations as candidates (`dsih-bot refresh funding --source
officiele-bekendmakingen`), through the real HTTP client against a local server.

The one REAL recorded answer of the SRU interface (tests/data/officiele_bekendmakingen/, a
byte-for-byte copy of ../shared/fixtures/officiele-bekendmakingen/) is replayed as it is: a
trimmed Kamerstuk, which must make no candidate. No public recording of a Staatscourant,
Provinciaal blad, Gemeenteblad or Waterschapsblad record exists; the tests of those build the
records in the recording's envelope with the fields KOOP's manual describes
(support/sru_replay.documented_record says which) and are marked HAND-MADE below."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import func, select

from storage.funding.bekendmakingen import (
    SruClient, SruError, cql, fetch_live, parse_response, read_amount, read_dates, to_candidates,
)
from storage.funding.candidates import refresh_bekendmakingen, slug
from storage.funding.models import FundingCandidate
from storage.models.core import AuditLog
from support.funding_env import funding_services
from support.sru_replay import DATA, REAL, SHARED, SruReplay, diagnostic, documented_record, envelope

PRETEND = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def _settings(services, url: str):
    f = services.settings.funding.model_copy(update={"bekendmakingen_url": url, "bekendmakingen_page_size": 2})
    return services.settings.model_copy(update={"funding": f})


@pytest.fixture
async def services(tmp_path):
    s = await funding_services(tmp_path, now=PRETEND)
    yield s
    await s.db.dispose()


def test_the_copy_is_the_recording_byte_for_byte():
    sums = dict(reversed(line.split("  ", 1)) for line in (DATA / "SHA256SUMS").read_text().splitlines())
    assert list(sums) == [REAL]
    assert hashlib.sha256((DATA / REAL).read_bytes()).hexdigest() == sums[REAL]
    if SHARED.is_dir():
        assert (SHARED / REAL).read_bytes() == (DATA / REAL).read_bytes()


def test_the_recorded_envelope_parses():
    batch = parse_response((DATA / REAL).read_bytes())
    assert batch.total == 1 and len(batch.publications) == 1
    p = batch.publications[0]
    assert (p.identifier, p.kind, p.published_on) == ("kst-22112-4100", "Kamerstuk", date(2026, 1, 16))
    assert p.title == "Fiche: Verordening Europese Business Wallet"
    assert p.url == "https://zoek.officielebekendmakingen.nl/kst-22112-4100.html"
    # Not recorded there: the journal, the body and an abstract (absent, never required).
    assert (p.journal, p.issuer, p.abstract) == (None, None, None)


async def test_the_real_recording_through_the_client_makes_no_candidate(services):
    with SruReplay(files=[REAL]) as sru:
        report = await refresh_bekendmakingen(services.db, _settings(services, sru.url), now=PRETEND)
    # One request in SRU 2.0 with our CQL query (the service refuses unknown parameters).
    assert len(sru.requests) == 1
    params = sru.requests[0]["params"]
    assert (params["operation"], params["version"], params["recordSchema"]) == ("searchRetrieve", "2.0", "gzd")
    assert params["startRecord"] == "1" and params["maximumRecords"] == "2"
    assert "c.product-area==officielepublicaties" in params["query"] and "dt.available>=2026-11-21" in params["query"]
    assert 'w.publicatienaam=="Gemeenteblad"' in params["query"] and "dt.title=subsidieregeling" in params["query"]
    assert set(params) == {"operation", "version", "query", "startRecord", "maximumRecords", "recordSchema"}
    # A Kamerstuk is no regulation of one of the four journals: read, dropped, said why.
    assert (report.read, report.candidates, report.added) == (1, 0, [])
    assert report.dropped == {"not in one of the four journals (Kamerstuk)": 1}
    print("\nDutch source, replayed real data:", report.line())
    async with services.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(FundingCandidate)) == 0
        audit = (await s.scalars(select(AuditLog).where(AuditLog.target == "officiele-bekendmakingen"))).one()
        assert audit.detail["read"] == 1 and audit.detail["added"] == 0


# ------------------------------------------------------------------ HAND-MADE: documented shapes
GELDERLAND = documented_record(
    "prb-2026-20123", "Subsidieregeling klimaatadaptatie Gelderland 2027",
    journal="Provinciaal blad", creator="Gelderland", organisation_type="Provincie", available="2026-12-01",
    abstract="Aanvragen kunnen worden ingediend van 1 februari 2027 tot en met 31 maart 2027. "
             "Het subsidieplafond bedraagt € 2,5 miljoen voor maatregelen tegen hittestress en wateroverlast.")
ZWOLLE = documented_record(
    "gmb-2026-50100", "Uitvoeringsregeling subsidie energiebesparing maatschappelijk vastgoed Zwolle",
    journal="Gemeenteblad", creator="Zwolle", organisation_type="Gemeente", available="2026-11-28",
    abstract="Subsidie voor isolatie en warmtepompen. Aanvragen tot en met 1 mei 2027 of tot en met 1 juni 2027.")
NOT_SUBSIDY = documented_record(
    "gmb-2026-50101", "Verordening parkeerbelastingen 2027", journal="Gemeenteblad", creator="Zwolle",
    organisation_type="Gemeente", available="2026-11-28")
OFF_TOPIC = documented_record(
    "stcrt-2026-40000", "Subsidieregeling orkesten en ensembles 2027", journal="Staatscourant",
    creator="Ministerie van Onderwijs, Cultuur en Wetenschap", organisation_type="Ministerie", available="2026-11-30")


async def test_documented_records_become_candidates_once(services):
    """HAND-MADE (see module docstring): two pages as SRU 2.0 pages them (nextRecordPosition)."""
    pages = [envelope([GELDERLAND, ZWOLLE], 4, next_position=3), envelope([NOT_SUBSIDY, OFF_TOPIC], 4)]
    settings = _settings(services, "")
    with SruReplay(pages=pages) as sru:
        settings = _settings(services, sru.url)
        report = await refresh_bekendmakingen(services.db, settings, now=PRETEND)
    assert [r["params"]["startRecord"] for r in sru.requests] == ["1", "3"]
    assert (report.read, report.candidates, len(report.added)) == (4, 2, 2)
    assert report.dropped == {"not a subsidy regulation": 1, "about none of the twelve topics": 1}
    async with services.db.session() as s:
        rows = {c.external_id: c for c in (await s.scalars(select(FundingCandidate))).all()}
    g, z = rows["prb-2026-20123"], rows["gmb-2026-50100"]
    assert (g.level, g.issuer, g.published_on) == ("provincial", "Gelderland", date(2026, 12, 1))
    assert g.themes == ["climate-adaptation"] and g.url.endswith("prb-2026-20123.html")
    assert (g.opens_on, g.closes_on, g.amount_eur) == (date(2027, 2, 1), date(2027, 3, 31), 2_500_000)
    # Two closing dates in one text: not read (a person decides); no amount stated.
    assert (z.level, z.opens_on, z.closes_on, z.amount_eur) == ("local", None, None, None)
    assert z.themes == ["energy-transition"] and z.status == "new"
    # The same answer again adds nothing.
    with SruReplay(pages=pages) as sru:
        again = await refresh_bekendmakingen(services.db, _settings(services, sru.url), now=PRETEND)
    assert (again.added, again.known) == ([], 2)


async def test_a_diagnostic_or_an_http_error_changes_nothing(services):
    """HAND-MADE: the SRU 2.0 diagnostic shape (OASIS searchRetrieve part 3)."""
    with SruReplay(pages=[diagnostic("Unsupported parameter sortKeys")]) as sru:
        with pytest.raises(SruError, match="refused the query: Unsupported parameter sortKeys"):
            await refresh_bekendmakingen(services.db, _settings(services, sru.url), now=PRETEND)
    with SruReplay(pages=[b"<html>busy</html>"], status=503) as sru:
        with pytest.raises(SruError, match="HTTP 503"):
            await refresh_bekendmakingen(services.db, _settings(services, sru.url), now=PRETEND)
    with SruReplay(pages=[b"not xml at all"]) as sru:
        with pytest.raises(SruError, match="not XML"):
            await refresh_bekendmakingen(services.db, _settings(services, sru.url), now=PRETEND)
    async with services.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(FundingCandidate)) == 0
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "funding.refresh")) == 0


def test_a_document_type_declaration_is_refused():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(SruError, match="document type"):
        parse_response(bomb)


def test_dates_and_amounts_only_when_stated_once():
    assert read_dates("van 1 februari 2027 tot en met 31 maart 2027") == (date(2027, 2, 1), date(2027, 3, 31))
    assert read_dates("uiterlijk 15 april 2027 ingediend") == (None, date(2027, 4, 15))
    assert read_dates("tot en met 1 mei 2027 of tot en met 1 juni 2027") == (None, None)
    assert read_dates("van 31 maart 2027 tot en met 1 februari 2027") == (None, None)   # backwards: not read
    assert read_dates("van 31 februari 2027 tot en met 1 maart 2027") == (None, None)   # no such day
    assert read_amount("subsidieplafond € 1.250.000") == 1_250_000
    assert read_amount("€ 2,5 miljoen") == 2_500_000
    assert read_amount("€ 100.000 per aanvraag en € 1.000.000 in totaal") is None
    assert read_amount("geen bedrag") is None


def test_slug_and_query():
    assert slug("Subsidieregeling klimaatadaptatie Gelderland 2027", date(2026, 12, 1)) == \
        "subsidieregeling-klimaatadaptatie-gelderland-2027"
    assert slug("Uitvoeringsregeling Zwolle", date(2026, 11, 28)) == "uitvoeringsregeling-zwolle-2026"
    q = cql(date(2026, 11, 21))
    assert all(f'w.publicatienaam=="{j}"' in q for j in ("Staatscourant", "Provinciaal blad", "Gemeenteblad",
                                                          "Waterschapsblad"))


@hsettings(max_examples=150, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_answer_is_parsed_or_refused_cleanly(raw):
    try:
        batch = parse_response(raw)
    except SruError:
        return
    to_candidates(batch)


@hsettings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_reads_or_reads_nothing(text):
    opens, closes = read_dates(text)
    assert opens is None or closes is not None
    amount = read_amount(text)
    assert amount is None or amount >= 0


def test_client_defaults_are_the_official_endpoint():
    assert SruClient().url == "https://repository.overheid.nl/sru" and fetch_live
