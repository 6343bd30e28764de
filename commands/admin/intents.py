"""Plain questions about one's own data: "wat weet je over mij?", "what data do you keep about
me?" show `!mydata`; "verwijder al mijn gegevens" starts `!mydata delete`, which asks to
confirm before anything is removed."""
from __future__ import annotations

from bot.framework.intents import Intent, run_command

_ME = r"(?:over\s+mij|van\s+mij|about\s+me|on\s+me|of\s+me|mijn\s+(?:persoons)?gegevens|my\s+(?:personal\s+)?data)"


async def show(ctx, text, match) -> bool:
    await run_command(ctx, "mydata")
    return True


async def delete(ctx, text, match) -> bool:
    await run_command(ctx, "mydata delete")
    return True


INTENTS = (
    Intent("admin.mydata-delete", (r"\b(?:verwijder|wis|vergeet|delete|erase|remove|forget)\b.*\b(?:mijn|my|me|mij)\b"
                                   r".*\b(?:gegevens|data|alles|everything|informatie|information)\b",
                                   r"\b(?:vergeet|forget)\s+(?:me|mij)\b"), delete,
           unless=(r"\b(?:herinnering|reminder|abonnement|subscription)\b",)),
    Intent("admin.mydata", (rf"\b(?:wat|welke|what|which)\b.*\b(?:weet|bewaar|bewaart|heb|hebt|houd|sla|know|keep|"
                            rf"store|have|hold)\b.*\b{_ME}",
                            r"\b(?:toon|laat\s+zien|show|see)\b.*\b(?:mijn|my)\s+(?:persoonlijke\s+|personal\s+)?"
                            r"(?:gegevens|data)\b"), show),
)
