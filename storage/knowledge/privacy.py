"""Which knowledge columns name a person: who shared an item (kept, without their name)."""
from bot.framework.i18n import N_
from storage.knowledge.models import KnowledgeItem
from storage.privacy import Holding, Rules, short

RULES = Rules(
    holdings=(
        Holding(KnowledgeItem, "shared_by", "anonymise", N_("shared knowledge items (kept without your name)"),
                lambda r, t: f"#{r.id} {short(r.title)}"),
    ),
    labels={"knowledge.share": N_("shared an item"), "knowledge.approve": N_("approved a shared item"),
            "knowledge.reject": N_("rejected a shared item"), "knowledge.poll": N_("reading the news feeds")},
    mentions={"knowledge_items": "redact", "knowledge_feeds": "redact"},
)
