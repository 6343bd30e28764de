"""A pasted link with a few words ("kijk, dit is interessant https://…", "worth reading
https://…") is an offer to share: answered with the exact `!share` to send (title from the
link), since a shared item is shown to everyone."""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from bot.framework.intents import Intent, proposal

_URL = re.compile(r"https?://[^\s<>\"']+", re.I)


def title_from(url: str) -> str:
    parts = urlsplit(url)
    slug = next((p for p in reversed(parts.path.split("/")) if p), "") or parts.netloc
    slug = re.sub(r"\.(?:html?|php|aspx?|pdf)$", "", unquote(slug), flags=re.I)
    words = " ".join(re.split(r"[-_+]+", slug)).strip() or parts.netloc
    return (words[:1].upper() + words[1:])[:150].replace('"', "'")


async def offer_share(ctx, text: str, match) -> bool:
    url = match.group(0).rstrip(".,;:!?)")
    command = proposal(ctx, "share", f'{url} "{title_from(url)}"')
    await ctx.reply(ctx.t("Shall I share this with the hub? Send: {command} (change the title in quotes if you like; "
                          "add #topics).", command=command))
    return True


INTENTS = (
    Intent("knowledge.share", (_URL.pattern,), offer_share, unless=(r"^\W*!",)),
)
