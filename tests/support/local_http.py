"""A small HTTP server on 127.0.0.1 in a thread, for the tests' stand-ins of outside
services (the EU portal, KOOP's SRU interface): a subclass says what a request gets
(`_handle(handler)`), which method it answers (`METHOD`) and its `PATH`."""
from __future__ import annotations

import threading
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class LocalServer:
    PATH = "/"
    METHOD = "POST"

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):   # keep test output quiet
                pass

        setattr(Handler, f"do_{self.METHOD}", lambda h: owner._handle(h))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.PATH}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def portal_request(h: BaseHTTPRequestHandler) -> dict:
    """The EU portal's request as it arrives: path, query parameters and the multipart parts
    (name -> (content type, text))."""
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
    return {"path": url.path, "params": params, "parts": parts}
