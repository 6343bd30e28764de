"""A stand-in for the EU Funding & Tenders search API on 127.0.0.1: serves the response
files of one snapshot in tests/data/eu_ft/ by page number, checks that each request has
the shape the real API expects (apiKey, text, paging, multipart JSON parts) and keeps the
requests for assertions."""
from __future__ import annotations

import json
import threading
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

DATA = Path(__file__).resolve().parents[1] / "data" / "eu_ft"
PATH = "/search-api/prod/rest/search"


class PortalStub:
    def __init__(self, snapshot: str = "2026-11-25"):
        self.snapshot = snapshot
        self.fail_with: int | None = None
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):   # keep test output quiet
                pass

            def do_POST(self):
                stub._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{PATH}"

    def __enter__(self) -> "PortalStub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        parts = {}
        ctype = h.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            msg = BytesParser(policy=email_policy).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                parts[name] = (part.get_content_type(), part.get_payload(decode=True).decode())
        self.requests.append({"path": url.path, "params": params, "parts": parts})
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
