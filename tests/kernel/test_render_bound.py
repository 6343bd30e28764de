"""paginate() counts items by render.content_size_bound instead of rendering them: the
bound must never be below the real size, whatever Markdown (or escaped user text) it gets."""
from __future__ import annotations

from hypothesis import example, given, settings, strategies as st

from bot.framework.context import paginate
from bot.framework.render import MAX_CONTENT_BYTES, content_size, content_size_bound, md_escape, message_content

MARKDOWN_BITS = st.sampled_from([
    "**", "*", "_", "__", "~~", "`", "```\n", "[", "](", ")", "(", "<", ">", "&", '"', "'", "|", "| --- |",
    "#", "# ", "- ", "1. ", "> ", "\n", "\n\n", "    ", "\\", "!", "![x](https://e.org/i.png)", "https://e.org/a?b=1&c=2",
    "[label](https://example.org/x_y)", "&amp;", "&#x27;", "<script>", "é", "€", "😀", "a", "word ", "12",
])
markdownish = st.lists(MARKDOWN_BITS, max_size=80).map("".join)


@settings(max_examples=int(__import__("os").environ.get("BOUND_EXAMPLES", 600)), deadline=None)
@given(markdownish)
@example("|a|b|\n|-|-|\n|c|d|")
@example("- - - - - - - - x")
@example("> > > > > > > > x")
@example("1. 2. 3. 4. 5. x")
def test_bound_is_never_below_the_rendered_size(md):
    assert content_size_bound(md) >= content_size(message_content(md))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_bound_holds_for_escaped_user_text(text):
    md = f"**{md_escape(text)}** · `{md_escape(text)[:20]}`"
    assert content_size_bound(md) >= content_size(message_content(md))


def test_pages_stay_under_the_limit_when_bounds_overflow():
    # Items whose bounds overflow a page but whose real size does not: measured, kept together.
    items = ["&" * 900 for _ in range(5)]
    pages = paginate("head", items, "foot", 5, "more {remaining}")
    assert all(content_size(message_content(p)) <= MAX_CONTENT_BYTES for p in pages)
    big = ["x" * 9000 for _ in range(6)]
    pages = paginate("head", big, "foot", 5, "more {remaining}")
    assert len(pages) >= 3 and all(content_size(message_content(p)) <= MAX_CONTENT_BYTES for p in pages)
