"""An oracle for "no executable HTML": parse what a client would render and list every tag,
attribute or URL outside the Matrix HTML subset. Written independently of bot.framework.render (which
sanitises), so a sanitiser mistake cannot hide itself; the lists follow the Matrix
client-server spec ("m.room.message msgtypes: HTML subset")."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

TAGS = {"font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup", "sub",
        "li", "b", "i", "u", "strong", "em", "strike", "code", "hr", "br", "div", "table", "thead", "tbody",
        "tr", "th", "td", "caption", "pre", "span", "details", "summary", "s"}
# What the bot may produce: links, list starts and code languages; nothing else (no style, no id).
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "code": {"class"}}
SCHEMES = ("https:", "http:", "mailto:", "matrix:")
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"event handler {name}= on <{tag}>")
            elif name not in ATTRIBUTES.get(tag, ()):
                self.problems.append(f"attribute {name}= on <{tag}>")
            if name in ("href", "src", "action", "formaction", "xlink:href"):
                # Browsers ignore control characters and spaces inside a scheme (java\tscript:).
                url = _CONTROL.sub("", value).lower()
                if not url.startswith(SCHEMES) or "javascript:" in url:
                    self.problems.append(f"URL {value!r} on <{tag}>")
            if name == "class" and not re.fullmatch(r"language-[\w+-]+", value):
                self.problems.append(f"class {value!r} on <{tag}>")

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        self.problems.append(f"comment <!--{data[:40]}-->")  # conditional comments execute in old engines

    def handle_decl(self, decl):
        self.problems.append(f"declaration <!{decl[:40]}>")

    def handle_pi(self, data):
        self.problems.append(f"processing instruction <?{data[:40]}>")

    def unknown_decl(self, data):
        self.problems.append(f"declaration <![{data[:40]}]>")


def html_problems(html: str) -> list[str]:
    """Everything in `html` that is not inert Matrix-subset markup (empty list: safe)."""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker.problems


# How a Markdown viewer (an editor, a Git forge) shows a .md attachment: raw HTML passes.
_raw_markdown = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def markdown_file_problems(text: str) -> list[str]:
    return html_problems(_raw_markdown.render(text))


def outgoing_problems(out) -> list[str]:
    """Problems in every message of a list of bot.framework.messages.Outgoing as it would be sent:
    the rendered formatted_body, any extra content's formatted fields, and Markdown or HTML files."""
    from bot.framework.render import message_content

    problems = []
    for reply in out:
        where = f"to {reply.to_user or reply.room_id}"
        content = message_content(reply.markdown)
        problems += [f"{p} in formatted_body {where}: {content['formatted_body'][:300]!r}"
                     for p in html_problems(content["formatted_body"])]
        for key, value in _strings(reply.extra_content or {}):
            if "html" in key or "formatted" in key:
                problems += [f"{p} in {key} {where}" for p in html_problems(value)]
        if reply.attachment is not None and reply.attachment.mimetype in ("text/markdown", "text/html"):
            text = reply.attachment.data.decode("utf-8", "replace")
            check = markdown_file_problems if reply.attachment.mimetype == "text/markdown" else html_problems
            problems += [f"{p} in file {reply.attachment.filename} {where}" for p in check(text)]
    return problems


def internal_errors(services) -> float:
    """How many commands ended in the dispatcher's internal-error path (whatever language the
    apology was in: a check for the English words misses a Dutch "er ging bij mij iets mis")."""
    return services.metrics.registry.get_sample_value("dsih_internal_errors_total") or 0


def _strings(value, key=""):
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)
