"""Replies are written in Markdown; this turns them into a Matrix message content with a
sanitised HTML `formatted_body` and a real plain-text `body`.

Safety: markdown-it runs with raw HTML disabled, so any `<tag>` in user text becomes
escaped text; nh3 then cleans the result against Matrix's allowed tags as a second wall.
`md_escape` neutralises Markdown syntax in user-supplied strings."""
from __future__ import annotations

from datetime import timezone

import html
import re
from functools import lru_cache
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt

from bot.framework.i18n import N_

# Matrix spec "HTML subset" (client-server API, m.room.message formatted bodies).
ALLOWED_TAGS = {
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup",
    "sub", "li", "b", "i", "u", "strong", "em", "strike", "code", "hr", "br", "div", "table",
    "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "details", "summary", "s",
}
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "code": {"class"}}
URL_SCHEMES = {"https", "http", "mailto", "matrix"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable("table").enable("strikethrough")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:\"'])")


def md_escape(text: object) -> str:
    """Make any user- or data-supplied string inert inside Markdown."""
    s = str(text).replace("\r", " ")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    # A leading run of spaces would become a code block; newlines could start lists/headers.
    return re.sub(r"\s*\n\s*", " ", s).strip()


# The label after a data text written in the other language than the reply's.
_OTHER_LANGUAGE = {"en": N_("(in English)"), "nl": N_("(in Dutch)")}


def foreign_text(t, text: str | None) -> str:
    """A record's own text (a note, a summary without a translation), escaped; where it is
    clearly in the other language than the reader's, labelled so ("(in het Engels)"), so a
    Dutch record view never passes off English data as its own words."""
    from bot.framework.i18n import detect_language
    shown = md_escape(text or "")
    lang = detect_language(text or "")
    if shown and lang and lang != t.lang and lang in _OTHER_LANGUAGE:
        shown += " _" + t(_OTHER_LANGUAGE[lang]) + "_"
    return shown


def md_code(command: str) -> str:
    """A command as inline code (a backtick inside would end it early, so it becomes a quote)."""
    return f"`{command.replace('`', chr(39))}`"


def md_link(label: object, url: str | None) -> str:
    """A Markdown link whose label is escaped and whose URL is restricted to safe schemes."""
    if not url or not re.match(r"^(https?|mailto|matrix):", url):
        return md_escape(label)
    safe_url = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")
    return f"[{md_escape(label)}]({safe_url})"


def to_html(markdown: str) -> str:
    rendered = _md.render(markdown)
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=None,
    ).strip()


class _PlainText(HTMLParser):
    """HTML -> readable plain text: lists as '- ', links as 'label (url)', paragraphs split."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: list[str | None] = []
        self.list_stack: list[list[int]] = []  # [is_ordered, counter]
        self.cell = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"):
            self._newline(2)
        elif tag == "br":
            self.out.append("\n")
        elif tag in ("ul", "ol"):
            self._newline(1)
            self.list_stack.append([tag == "ol", 0])
        elif tag == "li":
            self._newline(1)
            indent = "  " * (len(self.list_stack) - 1)
            if self.list_stack and self.list_stack[-1][0]:
                self.list_stack[-1][1] += 1
                self.out.append(f"{indent}{self.list_stack[-1][1]}. ")
            else:
                self.out.append(f"{indent}- ")
        elif tag == "tr":
            self._newline(1)
            self.cell = 0
        elif tag in ("td", "th"):
            if self.cell:
                self.out.append(" | ")
            self.cell += 1
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
        elif tag == "hr":
            self._newline(2)
            self.out.append("---")

    def handle_endtag(self, tag):
        if tag in ("ul", "ol") and self.list_stack:
            self.list_stack.pop()
            self._newline(1)
        elif tag == "a" and self.href:
            href = self.href.pop()
            text = "".join(self.out[-1:])
            if href and not href.startswith(("matrix:", "https://matrix.to/")) and href not in text:
                self.out.append(f" ({href})")
        elif tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"):
            self._newline(2)

    def handle_data(self, data):
        self.out.append(data)

    def _newline(self, count):
        text = "".join(self.out)
        have = len(text) - len(text.rstrip("\n"))
        if text and have < count:
            self.out.append("\n" * (count - have))

    def text(self) -> str:
        return re.sub(r"\n{3,}", "\n\n", "".join(self.out)).strip()


def to_plain(html_text: str) -> str:
    parser = _PlainText()
    parser.feed(html_text)
    parser.close()
    return parser.text()


@lru_cache(maxsize=32)
def _rendered(markdown: str) -> tuple[str, str]:
    # Sending a message renders it twice (size check in split_markdown, then the content);
    # for a broadcast of 10,000 digests that doubled the cost. Strings only: nothing mutable is shared.
    formatted = to_html(markdown)
    return formatted, to_plain(formatted) or html.unescape(markdown)


def message_content(markdown: str, *, notice: bool = True) -> dict:
    formatted, body = _rendered(markdown)
    return {
        "msgtype": "m.notice" if notice else "m.text",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
    }


# Matrix limits a whole event to 65,536 bytes; leave room for the envelope and encryption.
MAX_CONTENT_BYTES = 24_000


# Characters Markdown may turn into more than themselves (entities, tags around emphasis,
# code, links, table cells); characters that may open a block (list items, quotes,
# headings: nested, they also indent the plain body); and an allowance per line.
_HEAVY = re.compile(r"[&<>\"'*_~`\[\]()|#\\!]")
_BLOCK = re.compile(r"[-+*>.)#]")


def content_size_bound(markdown: str) -> int:
    """An upper bound of content_size(message_content(markdown)) without rendering it
    (tests/kernel/test_render_bound.py checks that it holds). The plain body is never
    longer than the HTML plus the indentation of nested blocks."""
    if not markdown:
        return 0
    blocks = len(_BLOCK.findall(markdown))
    html_bound = (len(markdown.encode()) + 12 * len(_HEAVY.findall(markdown)) + 48 * blocks
                  + 64 * (markdown.count("\n") + 1))
    return 2 * html_bound + 4 * blocks * blocks


def content_size(content: dict) -> int:
    return len(content.get("body", "").encode()) + len(content.get("formatted_body", "").encode())


def split_markdown(markdown: str, limit: int = MAX_CONTENT_BYTES) -> list[str]:
    """Split a message that would exceed the size limit at paragraph boundaries (and, for
    a single giant paragraph, at line or character boundaries)."""
    if content_size(message_content(markdown)) <= limit:
        return [markdown]
    parts: list[str] = []
    current = ""
    for block in markdown.split("\n\n"):
        pieces = [block]
        if content_size(message_content(block)) > limit:
            # A paragraph alone is too big: cut it into pieces by bytes (conservatively: /3 for HTML overhead).
            step = max(200, limit // 3)
            pieces = [block[i:i + step] for i in range(0, len(block), step)]
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if current and content_size(message_content(candidate)) > limit:
                parts.append(current)
                current = piece
            else:
                current = candidate
    if current:
        parts.append(current)
    return parts


def when_or_never(t, when) -> str:
    """A stored moment for `!admin stats` (naive values are UTC), or "never"."""
    if when is None:
        return t("never")
    return t.datetime(when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc))
