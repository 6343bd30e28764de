"""Replays answers of KOOP's SRU interface for official publications from a server on
127.0.0.1, for the real HTTP client in storage/funding/bekendmakingen.py.

- `files=[...]`: the N-th request gets the N-th file of tests/data/officiele_bekendmakingen/
  as its original bytes (the REAL recording: copied byte for byte, provenance in that folder's
  README), whatever was asked;
- `pages=[...]`: bytes built by the test, for shapes no recording holds (each such test says
  which shape and where it is officially described: see `documented_record`).
Every request's parameters are kept in `requests`."""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from support.local_http import LocalServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

DATA = Path(__file__).resolve().parents[1] / "data" / "officiele_bekendmakingen"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "officiele-bekendmakingen"
REAL = "mcdrizzle_nieuwsbrief_sru_kst_TRIMMED_2026-01.xml"
PATH = "/sru"


class SruReplay(LocalServer):
    PATH, METHOD = PATH, "GET"

    def __init__(self, *, files: list[str] | None = None, pages: list[bytes] | None = None, status: int = 200):
        self.files, self.pages, self.status = files, pages, status
        self.requests: list[dict] = []
        super().__init__()


    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        self.requests.append({"path": url.path, "params": {k: v[0] for k, v in parse_qs(url.query).items()}})
        n = len(self.requests) - 1
        if self.files is not None:
            raw = (DATA / self.files[n]).read_bytes() if n < len(self.files) else envelope([], 0)
        else:
            raw = self.pages[n] if n < len(self.pages or []) else envelope([], 0)
        h.send_response(self.status)
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)


def documented_record(identifier: str, title: str, *, journal: str, creator: str, organisation_type: str,
                      available: str, abstract: str | None = None, kind: str | None = None) -> str:
    """One record in the shape of the REAL recording (envelope, gzd, owmskern, owmsmantel,
    enrichedData), plus the fields the recording lacks, as KOOP's manual "Uitvragen Officiële
    Publicaties" (Bijlage 1) describes them: `dcterms:creator`, `dcterms:abstract` and
    `tpmeta` (`publicatienaam`, `organisatietype`). HAND-MADE: not a recorded answer."""
    ab = f"<dcterms:abstract>{escape(abstract)}</dcterms:abstract>" if abstract else ""
    return f"""
  <sru:record>
   <sru:recordData>
    <gzd:gzd>
     <gzd:originalData>
      <overheidwetgeving:meta>
       <owmskern xmlns="http://standaarden.overheid.nl/owms/terms/">
        <dcterms:identifier>{escape(identifier)}</dcterms:identifier>
        <dcterms:title>{escape(title)}</dcterms:title>
        <dcterms:type>{escape(kind or journal)}</dcterms:type>
        <dcterms:creator>{escape(creator)}</dcterms:creator>
        <dcterms:modified>{available}</dcterms:modified>
       </owmskern>
       <owmsmantel xmlns="http://standaarden.overheid.nl/owms/terms/">
        <dcterms:available>{available}</dcterms:available>{ab}
       </owmsmantel>
       <tpmeta xmlns="http://standaarden.overheid.nl/product/terms/">
        <publicatienaam>{escape(journal)}</publicatienaam>
        <organisatietype>{escape(organisation_type)}</organisatietype>
       </tpmeta>
      </overheidwetgeving:meta>
     </gzd:originalData>
     <gzd:enrichedData>
      <gzd:preferredUrl>https://zoek.officielebekendmakingen.nl/{escape(identifier)}.html</gzd:preferredUrl>
     </gzd:enrichedData>
    </gzd:gzd>
   </sru:recordData>
  </sru:record>"""


def envelope(records: list[str], total: int, next_position: int | None = None) -> bytes:
    """The REAL recording's envelope and namespaces around `records`; `nextRecordPosition` as
    SRU 2.0 defines it (not in the recording: it held all of its one record)."""
    nxt = f"\n <sru:nextRecordPosition>{next_position}</sru:nextRecordPosition>" if next_position else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sru:searchRetrieveResponse xmlns:sru="http://docs.oasis-open.org/ns/search-ws/sruResponse" xmlns:gzd="http://standaarden.overheid.nl/sru" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:overheidwetgeving="http://standaarden.overheid.nl/wetgeving/">
 <sru:numberOfRecords>{total}</sru:numberOfRecords>
 <sru:records>{''.join(records)}
 </sru:records>{nxt}
</sru:searchRetrieveResponse>""".encode()


def diagnostic(message: str) -> bytes:
    """An SRU 2.0 diagnostic (OASIS searchRetrieve part 3, "Diagnostics"); HAND-MADE."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sru:searchRetrieveResponse xmlns:sru="http://docs.oasis-open.org/ns/search-ws/sruResponse">
 <sru:numberOfRecords>0</sru:numberOfRecords>
 <sru:diagnostics>
  <diag:diagnostic xmlns:diag="http://docs.oasis-open.org/ns/search-ws/diagnostic">
   <diag:uri>info:srw/diagnostic/1/8</diag:uri>
   <diag:message>{escape(message)}</diag:message>
  </diag:diagnostic>
 </sru:diagnostics>
</sru:searchRetrieveResponse>""".encode()
