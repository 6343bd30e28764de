"""Knowledge's lines in `!admin stats`: items, the newest, waiting for approval; each feed's polls."""
from __future__ import annotations

from sqlalchemy import func, select

from bot.framework.render import md_escape, when_or_never
from storage.knowledge.models import KnowledgeFeed, KnowledgeItem


async def admin_stats(ctx) -> list[tuple[str, str]]:
    t, n, db = ctx.t, ctx.t.number, ctx.db
    count = (await db.scalar(select(func.count()).select_from(KnowledgeItem))) or 0
    waiting = (await db.scalar(select(func.count()).select_from(KnowledgeItem).where(
        KnowledgeItem.status == "pending"))) or 0
    newest = await db.scalar(select(func.max(KnowledgeItem.shared_at)))
    out = [("data", t("Knowledge items: {count}; newest {newest}; {waiting} waiting for approval.",
                      count=n(count), newest=when_or_never(t, newest), waiting=n(waiting)))]
    configured = [str(f.url) for f in ctx.settings.knowledge.feeds]
    states = {f.url: f for f in (await db.scalars(select(KnowledgeFeed))).all()}
    for url in configured:
        st = states.get(url)
        if st is None:
            out.append(("feeds", t("{url}: not polled yet.", url=md_escape(url))))
            continue
        out.append(("feeds", t("{url}: last poll {poll}, last success {ok}, {items} items, {failures} failures in a row.",
                               url=md_escape(url), poll=when_or_never(t, st.last_poll), ok=when_or_never(t, st.last_ok),
                               items=n(st.items), failures=n(st.failures))))
    return out
