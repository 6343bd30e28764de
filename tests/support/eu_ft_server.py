"""A stand-in for the EU Funding & Tenders search API on 127.0.0.1: serves the response
files of one snapshot in tests/data/eu_ft/ by page number, checks that each request has
the shape the real API expects (apiKey, text, paging, multipart JSON parts) and keeps the
requests for assertions."""
from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from support.local_http import LocalServer, portal_request
from pathlib import Path
from urllib.parse import urlparse

DATA = Path(__file__).resolve().parents[1] / "data" / "eu_ft"
PATH = "/search-api/prod/rest/search"


class PortalStub(LocalServer):
    PATH, METHOD = PATH, "POST"

    def __init__(self, snapshot: str = "2026-11-25"):
        self.snapshot = snapshot
        self.fail_with: int | None = None
        self.requests: list[dict] = []
        super().__init__()


    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        request = portal_request(h)
        url, params, parts = urlparse(h.path), request["params"], request["parts"]
        self.requests.append(request)
        problem = self._problem(url.path, params, parts)
        if self.fail_with:
            return self._send(h, self.fail_with, {"error": "service unavailable"})
        if problem:
            return self._send(h, 400, {"error": problem})
        page = DATA / f"search_{self.snapshot}_page{params['pageNumber']}.json"
        if page.exists():
            data = json.loads(page.read_text(encoding="utf-8"))
        else:
            data = {"totalResults": 0, "pageNumber": int(params["pageNumber"]), "results": []}
        data["terms"] = params["text"]
        self._send(h, 200, data)

    @staticmethod
    def _problem(path, params, parts) -> str | None:
        if path != PATH:
            return f"unknown path {path}"
        for key in ("apiKey", "text", "pageSize", "pageNumber"):
            if key not in params:
                return f"parameter {key} is not present"
        if params["apiKey"] != "SEDIA":
            return "unknown apiKey"
        for name in ("query", "languages", "sort"):
            if name not in parts or parts[name][0] != "application/json":
                return f"part {name} missing or not application/json"
        query = json.loads(parts["query"][1])
        statuses = [t["terms"]["status"] for t in query["bool"]["must"] if "status" in t.get("terms", {})]
        if statuses != [["31094501", "31094502"]]:
            return "query must ask for forthcoming and open topics"
        return None

    @staticmethod
    def _send(h, status: int, data: dict) -> None:
        raw = json.dumps(data).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)
