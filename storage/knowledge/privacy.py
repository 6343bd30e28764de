"""Which knowledge columns name a person: who shared an item (kept, without their name)."""
from bot.framework.i18n import N_
from storage.knowledge.models import KnowledgeItem
from storage.privacy import Holding, Rules, short

RULES = Rules(
    holdings=(
        Holding(KnowledgeItem, "shared_by", "anonymise", N_("shared knowledge items (kept without your name)"),
                lambda r, t: f"#{r.id} {short(r.title)}"),
    ),
    mentions={"knowledge_items": "redact", "knowledge_feeds": "redact"},
)
