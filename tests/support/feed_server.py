"""A small feed server for tests, bound to 127.0.0.1 only, in a thread (so it serves the
bot subprocess of the end-to-end tests as well as in-process unit tests).

Paths: /rss.xml (RSS 2.0 with an ETag), /atom.xml (Atom with Last-Modified),
/broken.xml (not a feed), /changing.xml (one entry, a second one after `server.change()`),
/conditional.xml (answers 304 whenever a conditional header is sent), /down.xml (HTTP 500).
Every request's headers are kept in `server.requests` as (path, headers)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Gemeente Testdam nieuws</title><link>https://testdam.example.nl/</link><language>nl</language>
<item><title>Hittestress aanpakken in de wijk</title>
<link>https://testdam.example.nl/nieuws/hitte?utm_source=rss</link><guid>testdam-1</guid>
<description>&lt;p&gt;Wat wij leerden over &lt;b&gt;hitte&lt;/b&gt; en groene daken.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description>
</item>
<item><title>Snuffelfiets-data voor fietsroutes</title>
<link>https://testdam.example.nl/nieuws/fiets</link><guid>testdam-2</guid>
<description>Luchtkwaliteit meten met sensoren op de fiets.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Kennisportaal Test</title><id>urn:test:atom</id>
<updated>2026-11-20T10:00:00Z</updated>
<entry><title type="html">Digitale tweeling voor &lt;em&gt;waterberging&lt;/em&gt;</title>
<id>urn:test:atom:1</id><link href="https://kennis.example.org/tweeling-waterberging"/>
<updated>2026-11-20T10:00:00Z</updated><summary>A digital twin for rainwater storage in Testdam.</summary></entry>
<entry><title>Same article as the RSS feed</title><id>urn:test:atom:2</id>
<link href="http://www.testdam.example.nl/nieuws/hitte/#top"/><updated>2026-11-20T10:00:00Z</updated>
<summary>Duplicate by URL.</summary></entry>
</feed>"""

CHANGING_1 = """<?xml version="1.0"?><rss version="2.0"><channel><title>Changing</title>
<item><title>First circular construction guide</title><link>https://change.example.org/one</link><guid>c1</guid></item>
</channel></rss>"""
CHANGING_2 = CHANGING_1.replace("</channel>", """<item><title>Second guide on circular tendering</title>
<link>https://change.example.org/two</link><guid>c2</guid><description>Circulair aanbesteden</description></item>
</channel>""")

CONDITIONAL = """<?xml version="1.0"?><rss version="2.0"><channel><title>Conditional</title>
<item><title>Energy communities in villages</title><link>https://cond.example.org/energy</link><guid>e1</guid></item>
</channel></rss>"""

LAST_MODIFIED = "Fri, 20 Nov 2026 10:00:00 GMT"


class FeedServer:
    def __init__(self):
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.changed = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.path, headers))
                path = self.path.split("?")[0]
                if path == "/rss.xml":
                    if headers.get("if-none-match") == '"rss-v1"':
                        return self._send(304)
                    return self._send(200, RSS, {"ETag": '"rss-v1"'})
                if path == "/atom.xml":
                    if headers.get("if-modified-since") == LAST_MODIFIED:
                        return self._send(304)
                    return self._send(200, ATOM, {"Last-Modified": LAST_MODIFIED}, "application/atom+xml")
                if path == "/broken.xml":
                    return self._send(200, "<html><body>Not a feed <p>at all", ctype="text/html")
                if path == "/changing.xml":
                    return self._send(200, CHANGING_2 if server.changed else CHANGING_1)
                if path == "/conditional.xml":
                    if "if-none-match" in headers or "if-modified-since" in headers:
                        return self._send(304)
                    return self._send(200, CONDITIONAL, {"ETag": 'W/"cond-1"', "Last-Modified": LAST_MODIFIED})
                if path == "/down.xml":
                    return self._send(500, "oops")
                return self._send(404, "not found")

            def _send(self, status, body="", extra=None, ctype="application/rss+xml; charset=utf-8"):
                data = body.encode("utf-8")
                self.send_response(status)
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FeedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def change(self) -> None:
        self.changed = True

    def headers_for(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p.split("?")[0] == path]
