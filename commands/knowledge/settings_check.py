"""The knowledge settings that need the hub's topics and the item kinds to check: each
feed's topics (ids, labels or aliases, made ids here) and its kind. Run when the bot
starts and by `dsih-bot check-config`; a problem stops the start with a clear message."""
from __future__ import annotations

from storage import topics
from storage.knowledge.records import KIND_SYNONYMS, KINDS


def check_settings(settings) -> list[str]:
    problems = []
    for n, feed in enumerate(settings.knowledge.feeds, 1):
        ids = []
        for raw in feed.topics:
            topic = topics.lookup(raw)
            if topic is None:
                problems.append(f"knowledge.feeds[{n}].topics: unknown topic {raw!r}; known: {', '.join(topics.ids())}")
            else:
                ids.append(topic.id)
        kind = KIND_SYNONYMS.get(feed.kind.strip().lower(), feed.kind.strip().lower())
        if kind not in KINDS:
            problems.append(f"knowledge.feeds[{n}].kind: unknown kind {feed.kind!r}; expected one of {', '.join(KINDS)}")
        if not problems:
            feed.topics, feed.kind = ids, kind
    return problems
