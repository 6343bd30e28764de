"""A digest and a deadline alert as Markdown, in the subscriber's language and zone
(the renderer turns it into sanitised HTML and a real plain-text body)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from bot.framework.i18n import N_, Translator
from bot.framework.render import md_escape, md_link
from storage import topics
from bot.framework.digest_parts import Change, Item
from storage.digests.compose import Digest

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))


def topic_label(t: Translator, topic_id: str) -> str:
    found = topics.get(topic_id)
    return found.label(t.lang) if found else topic_id


def schedule_text(t: Translator, frequency: str, at: str, weekday: int | None, day_of_month: int | None) -> str:
    if frequency == "daily":
        return t("daily at {time}", time=at)
    if frequency == "weekly":
        return t("weekly on {weekday} at {time}", weekday=t(WEEKDAYS[weekday or 0]), time=at)
    if day_of_month == -1:
        return t("monthly on the last day at {time}", time=at)
    return t("monthly on day {day} at {time}", day=day_of_month or 1, time=at)


def _title(t: Translator, title: str, title_nl: str | None) -> str:
    return md_escape(title_nl if t.lang == "nl" and title_nl else title)


CHANGE_FIELDS = {"deadline": N_("deadline"), "status": N_("status"), "budget": N_("budget"),
                 "conditions": N_("conditions")}


def _change_value(t: Translator, change: Change, value) -> str:
    if value is None:
        return t("none")
    if change.kind == "moment":
        return t.datetime(value)
    if change.kind == "label":
        return t(value)
    if change.kind == "money":
        return t.money(value)
    text = str(value)
    return md_escape(text if len(text) <= 200 else text[:199] + "…")


def _change_line(t: Translator, change: Change, names: Callable[[str], str]) -> str:
    title = _title(t, change.title, change.title_nl)
    command = names(f"funding {change.record_id}")
    if change.news == "reopened":
        return "- " + t("🔓 Reopened: {title} — now {new} (source: {source}) · `{command}`", title=title,
                        new=_change_value(t, change, change.new), source=t(change.source), command=command)
    if change.news == "forthcoming":
        return "- " + t("🆕 Newly forthcoming: {title} (source: {source}) · `{command}`", title=title,
                        source=t(change.source), command=command)
    line = "- " + t("{title} — {field}: {old} → {new} (source: {source}) · `{command}`", title=title,
                    field=t(CHANGE_FIELDS.get(change.field, change.field)), old=_change_value(t, change, change.old),
                    new=_change_value(t, change, change.new), source=t(change.source), command=command)
    if change.alerted is not None:
        line += " · _" + t("alerted on {date}", date=t.short_date(change.alerted)) + "_"
    return line


def _item_line(t: Translator, item: Item) -> str:
    bits = [md_link(item.title, item.url), t(item.kind_label or item.kind)]
    if item.organisation:
        bits.append(md_escape(item.organisation))
    return "- " + " · ".join(bits)


def render_digest(t: Translator, digest: Digest, *, now: datetime, prefix: str, room: bool = False,
                  preview: bool = False, names: Callable[[str], str] | None = None) -> str:
    """`names("funding set")` gives a command as the reader types it (Services.command_name);
    without it, the English names."""
    names = names or (lambda text: prefix + text)
    if preview:
        head = t("**Preview of your next digest** (as it would be now)")
    elif room:
        head = t("📬 **Knowledge digest for this room** — {date}", date=t.short_date(now))
    else:
        head = t("📬 **Your knowledge digest** — {date}", date=t.short_date(now))
    blocks = [head]
    if digest.alerts:
        blocks.append("\n".join(["⚠️ **" + t("Deadline moved earlier") + "**"]
                                 + [_change_line(t, c, names) for c in digest.alerts]))
    for part in digest.parts:
        label = topic_label(t, part.topic)
        lines = [f"### {md_escape(label)}"]
        if part.new or part.new_more:
            lines.append("**" + t("New knowledge") + "**")
            lines += [_item_line(t, i) for i in part.new]
            if part.new_more:
                lines.append("- " + t("…and {count} more: `{command}`", count=part.new_more,
                                      command=names(f"knowledge --topic {part.topic}")))
        if part.events:
            lines.append("**" + t("Events and trainings") + "**")
            lines += [f"- {t.datetime(i.event_date)} — " + _item_line(t, i)[2:] for i in part.events]
            if part.events_more:
                lines.append("- " + t("…and {count} more: `{command}`", count=part.events_more,
                                      command=names(f"knowledge --topic {part.topic} --kind event")))
        if part.deadlines:
            lines.append("**" + t("Funding deadlines") + "**")
            for d in part.deadlines:
                days = (d.at.astimezone(t.tz).date() - now.astimezone(t.tz).date()).days
                lines.append("- " + t("{title} — closes {when} ({days} days left) · `{command}`",
                                      title=_title(t, d.title, d.title_nl), when=t.datetime(d.at), days=days,
                                      command=names(f"funding {d.id}")))
        if part.changes:
            lines.append("**" + t("Changed") + "**")
            lines += [_change_line(t, c, names) for c in part.changes]
        if part.instruments:
            lines.append("**" + t("New or updated funding") + "**")
            lines += [f"- {_title(t, i.title, i.title_nl)} · `{names(f'funding {i.id}')}`" for i in part.instruments]
        if part.sessions:
            lines.append("**" + t("Peer-review sessions") + "**")
            lines += ["- " + t("#{number} {title} — {when} · join: `{command}`", number=s.id, title=md_escape(s.title),
                               when=t.datetime(s.starts_at), command=names(f"session join {s.id}"))
                      for s in part.sessions]
        if part.labs:
            lines.append("**" + t("Living labs added") + "**")
            lines += [f"- {md_escape(lab.name)}" + (f" ({md_escape(lab.municipality)})" if lab.municipality else "")
                      + f" · `{names(f'lab {lab.id}')}`" for lab in part.labs]
        headings: dict[str, list] = {}
        for note in part.notes:
            headings.setdefault(note.heading, []).append(note)
        for heading, notes in headings.items():
            lines.append("**" + t(heading) + "**")
            lines += ["- " + note.text(t, names) for note in notes]
        blocks.append("\n".join(lines))
    if not preview:
        # One line: how to pause it, how to stop it (as the reader types the commands).
        blocks.append("_" + t("Pause: `{pause}` · stop: `{stop}`", pause=names("digest pause 2w"),
                              stop=names("unsubscribe all")) + "_")
    return "\n\n".join(blocks)


def render_change_alert(t: Translator, changes: list[Change], *, prefix: str,
                        names: Callable[[str], str] | None = None) -> str:
    """A deadline moved earlier on a followed record, told on its own (one line per record)."""
    names = names or (lambda text: prefix + text)
    head = "⚠️ " + t("**Deadline moved earlier** on a topic you follow:")
    return "\n".join([head] + [_change_line(t, c, names) for c in changes])


def render_alert(t: Translator, alerts: list[tuple[str, str, str | None, datetime]], *, now: datetime,
                 prefix: str, names: Callable[[str], str] | None = None) -> str:
    """alerts: (instrument id, title, Dutch title, deadline)."""
    names = names or (lambda text: prefix + text)
    lines = ["⏰ " + t("**Funding deadline coming up** on a topic you follow:")]
    for fid, title, title_nl, at in alerts:
        days = (at.astimezone(t.tz).date() - now.astimezone(t.tz).date()).days
        lines.append("- " + t("{title} — closes {when} ({days} days left) · `{command}`",
                              title=_title(t, title, title_nl), when=t.moment(at), days=days,
                              command=names(f"funding {fid}")))
    return "\n".join(lines)
