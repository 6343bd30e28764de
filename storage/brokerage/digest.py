"""Brokerage's part in the digest: "Who else" — per call, lab or topic on a followed topic,
how many organisations of each kind registered interest in the run's window. Counts
only; an organisation is named only when its person opted in (`!organisation … --named`)."""
from __future__ import annotations

from sqlalchemy import select

from bot.framework.digest_parts import Contribution, Note, Parts, Window
from bot.framework.i18n import N_
from bot.framework.render import md_escape
from storage.brokerage.models import BrokerProfile, Interest

HEADING = N_("Who else")
KIND_PLURALS = {"municipality": (N_("{count} municipality"), N_("{count} municipalities")),
                "province": (N_("{count} province"), N_("{count} provinces")),
                "water_board": (N_("{count} water board"), N_("{count} water boards")),
                "knowledge_institution": (N_("{count} knowledge institution"), N_("{count} knowledge institutions")),
                "company": (N_("{count} company"), N_("{count} companies")),
                "other": (N_("{count} other organisation"), N_("{count} other organisations"))}
ORDER = list(KIND_PLURALS)


def _note(kind: str, ref_id: str, title: str, counts: dict[str, int], named: list[str], themes, at) -> Note:
    def text(t, names) -> str:
        parts = [t.n(*KIND_PLURALS[k], counts[k]) for k in ORDER if counts.get(k)]
        who = parts[0] if len(parts) == 1 else t("{first} and {last}", first=", ".join(parts[:-1]), last=parts[-1])
        line = t("{who} registered interest in **{title}** · `{command}`", who=who, title=md_escape(title),
                 command=names(f"interest {ref_id}"))
        if named:
            listed = ", ".join(md_escape(n) for n in named)
            line += " " + t("(among them {names})", names=listed)
        return line
    return Note(key=f"brokerage:{kind}:{ref_id}", heading=HEADING, text=text, themes=tuple(themes), at=at)


async def parts(session, w: Window) -> Parts:
    rows = (await session.execute(
        select(Interest, BrokerProfile).outerjoin(BrokerProfile, BrokerProfile.user_id == Interest.user_id)
        .where(Interest.created_at > w.since, Interest.created_at <= w.cutoff)
        .order_by(Interest.created_at.desc(), Interest.id))).all()
    groups: dict[tuple[str, str], dict] = {}
    for interest, profile in rows:
        if not w.topics.intersection(interest.themes or ()):
            continue
        g = groups.setdefault((interest.ref_kind, interest.ref_id), {
            "title": interest.title, "counts": {}, "named": [], "themes": tuple(interest.themes or ()),
            "at": interest.created_at})
        kind = profile.kind if profile is not None and profile.kind in KIND_PLURALS else "other"
        g["counts"][kind] = g["counts"].get(kind, 0) + 1
        if profile is not None and profile.named and profile.organisation not in g["named"]:
            g["named"].append(profile.organisation)
    return Parts(notes=[_note(k, i, g["title"], g["counts"], g["named"], g["themes"], g["at"])
                        for (k, i), g in groups.items()])


CONTRIBUTION = Contribution(parts)
