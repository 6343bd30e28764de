"""Replays REAL recorded answers of the EU Funding & Tenders search API (tests/data/eu_ft/real/,
byte-for-byte copies of ../shared/fixtures/eu-ft/, provenance in its README) from a server on
127.0.0.1, for the real HTTP client in storage/funding/eu_portal.py.

Two ways to answer:
- `files=[...]`: page N is the N-th recorded file, sent as its original bytes (envelope and
  all), whatever was asked: what the service does when it ignores a filter;
- `rows=[...]`: recorded rows (each unchanged) in a fresh envelope, paged by the request's
  pageSize and sorted on its sort field, with the filters the request asked for applied to
  `type`, `status` and `language` like the service does. Archived copies are still sent
  when `leak_archived` (the recordings show them despite their age), and `repeat_on_next_page`
  sends the last row of a page again at the top of the next (rows repeating between pages)."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from support.local_http import LocalServer, portal_request
from pathlib import Path

REAL = Path(__file__).resolve().parents[1] / "data" / "eu_ft" / "real"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "eu-ft"   # beside the clone (CI)
PATH = "/search-api/prod/rest/search"


def recorded(name: str) -> dict:
    return json.loads((REAL / name).read_bytes())


def recorded_rows(*names: str) -> list[dict]:
    """The rows of recorded files, in file order (the SenseFound excerpt holds two bare rows)."""
    out: list[dict] = []
    for name in names:
        data = recorded(name)
        out += data["results"] if "results" in data else [data["open"], data["closed"]]
    return out


def _one(md: dict, key: str):
    v = md.get(key)
    return v[0] if isinstance(v, list) and v else v


class RealPortal(LocalServer):
    PATH, METHOD = PATH, "POST"

    def __init__(self, *, files: list[str] | None = None, rows: list[dict] | None = None,
                 leak_archived: bool = True, repeat_on_next_page: bool = False):
        self.files, self.rows = files, rows
        self.leak_archived, self.repeat_on_next_page = leak_archived, repeat_on_next_page
        self.requests: list[dict] = []
        super().__init__()


    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        request = portal_request(h)
        params, parts = request["params"], request["parts"]
        self.requests.append(request)
        page = int(params.get("pageNumber", "1"))
        if self.files is not None:
            raw = (REAL / self.files[page - 1]).read_bytes() if page <= len(self.files) else b'{"results": []}'
            return self._send(h, raw)
        query = json.loads(parts["query"][1]) if "query" in parts else {}
        wanted = {k: v for t in query.get("bool", {}).get("must", []) for k, v in t.get("terms", {}).items()}
        languages = json.loads(parts["languages"][1]) if "languages" in parts else None
        sort = json.loads(parts["sort"][1]) if "sort" in parts else {}

        def keep(res: dict) -> bool:
            md = res.get("metadata") or {}
            for key in ("type", "status"):
                if key in wanted and str(_one(md, key)) not in wanted[key]:
                    return False
            if "DATASOURCE" in wanted and not self.leak_archived and _one(md, "DATASOURCE") not in wanted["DATASOURCE"]:
                return False
            lang = res.get("language") or _one(md, "language")
            return not (languages and lang and lang not in languages)

        rows = [r for r in self.rows or [] if keep(r)]
        if sort.get("field"):
            rows.sort(key=lambda r: str(_one(r.get("metadata") or {}, sort["field"]) or ""))
        size = int(params.get("pageSize", "10"))
        chunk = rows[(page - 1) * size: page * size]
        if self.repeat_on_next_page and page > 1 and (page - 1) * size <= len(rows):
            chunk = [rows[(page - 1) * size - 1]] + chunk
        envelope = {"apiVersion": "replay", "terms": params.get("text"), "totalResults": len(rows),
                    "pageNumber": page, "pageSize": size, "results": chunk}
        self._send(h, json.dumps(envelope).encode())

    @staticmethod
    def _send(h, raw: bytes) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)
