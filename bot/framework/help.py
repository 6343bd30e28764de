"""Usage lines and help pages, generated from the command declarations and docstrings."""
from __future__ import annotations

from bot.framework.command import Command, Registry
from bot.framework.i18n import N_, Translator
from bot.framework.render import md_escape


def spoken_name(cmd: Command, lang: str) -> str:
    """A command's full name as a reader of `lang` types it: for Dutch its first Dutch alias
    at every level (`sessie aanmelden`), the name `!help` lists first."""
    own = cmd.dutch[0] if lang == "nl" and cmd.dutch else cmd.name
    return f"{spoken_name(cmd.parent, lang)} {own}" if cmd.parent else own


def command_text(registry: Registry, text: str, lang: str) -> str:
    """`funding set x`, `knowledge --topic energy` with the command, subcommand and option
    names in `lang` (an option's first alias is its Dutch name); other words are kept, and
    so is everything when the command is not in this registry."""
    words = text.split(" ")
    cmd = registry.get(words[0]) if words else None
    if cmd is None:
        return text
    out = [spoken_name(cmd, lang)]
    naming = True                    # subcommands follow the command directly, before any argument
    for word in words[1:]:
        sub = cmd.subcommands.get(word.lower()) if naming else None
        if sub is not None:
            cmd = sub
            out[-1] = spoken_name(cmd, lang)
            continue
        naming = False
        opt = cmd.option_for(word[2:]) if word.startswith("--") else None
        out.append(f"--{opt.aliases[0]}" if opt and lang == "nl" and opt.aliases else word)
    return " ".join(out)


# The words of a usage line's placeholders, in the reader's language (`<nummer>`, not
# `<number>` in a Dutch reply). An argument named otherwise is shown as named.
PLACEHOLDERS = frozenset((
    N_("number"), N_("text"), N_("when"), N_("user"), N_("title"), N_("words"), N_("value"), N_("topics"),
    N_("reason"), N_("query"), N_("message"), N_("confirm"), N_("zone"), N_("window"), N_("summary"),
    N_("slots"), N_("role"), N_("poll"), N_("owner"), N_("language"), N_("field"), N_("duration"), N_("due"),
    N_("command"), N_("choices"), N_("action"),
))


def placeholder(name: str, t: Translator) -> str:
    return t(name) if name in PLACEHOLDERS else name


def usage(cmd: Command, prefix: str, t: Translator) -> str:
    parts = [f"{prefix}{spoken_name(cmd, t.lang)}"]
    for arg in cmd.arguments:
        name = placeholder(arg.name, t)
        text = f"<{name}…>" if arg.rest else f"<{name}>"
        parts.append(text if arg.required else f"[{text}]")
    for opt in cmd.options:
        name = opt.aliases[0] if t.lang == "nl" and opt.aliases else opt.name   # the first alias is Dutch
        parts.append(f"[--{name}]" if opt.is_flag else f"[--{name} <{t(opt.converter.metavar)}>]")
    return " ".join(parts)


def command_help(cmd: Command, prefix: str, t: Translator) -> str:
    shown = spoken_name(cmd, t.lang)
    lines = [f"**{prefix}{shown}** — {t(cmd.summary)}" if cmd.summary else f"**{prefix}{shown}**"]
    if cmd.details:
        lines.append(t(cmd.details))
    lines.append(t("Usage: {usage}", usage=f"`{usage(cmd, prefix, t)}`"))
    args = [a for a in cmd.arguments if a.help]
    if args:
        lines.append("\n".join(f"- `{a.name}`: {t(a.help)}" for a in args))
    if cmd.options:
        opt_lines = []
        for o in cmd.options:
            names = ", ".join(f"`--{n}`" for n in o.names)
            opt_lines.append(f"- {names}: {t(o.help)}" if o.help else f"- {names}")
        lines.append(t("Options:") + "\n" + "\n".join(opt_lines))
    aliases = [cmd.name, *cmd.aliases, *cmd.dutch]
    if cmd.parent is not None:
        # A subcommand's other names are typed after its parent's: `!sessie peiling`.
        parent = cmd.parent
        english, dutch = spoken_name(parent, "en"), spoken_name(parent, "nl")
        aliases = [f"{english} {a}" for a in (cmd.name, *cmd.aliases)] + [f"{dutch} {a}" for a in cmd.dutch]
    aliases = [a for a in aliases if a != shown]
    if aliases:
        lines.append(t("Also: {names}", names=", ".join(f"`{prefix}{a}`" for a in aliases)))
    subs = sorted({s.name: s for s in cmd.subcommands.values() if not s.hidden}.values(), key=lambda s: s.name)
    if subs:
        lines.append(t("Subcommands:") + "\n" + "\n".join(
            f"- `{usage(s, prefix, t)}` — {t(s.summary)}" for s in subs))
    return "\n\n".join(lines)


def overview(registry: Registry, prefix: str, t: Translator, role) -> str:
    sections = [t("**dsih-bot** — the Dutch Societal Innovation Hub's assistant. Commands:")]
    for cog in registry.cogs:
        visible = [c for c in cog.commands if not c.hidden and role >= c.role]
        if not visible:
            continue
        lines = [f"**{t(cog.title)}**"]
        for c in visible:
            # Dutch readers see the Dutch name first; both always work.
            names = [*c.dutch, c.name] if t.lang == "nl" and c.dutch else [c.name, *c.dutch]
            others = f" ({', '.join(prefix + n for n in names[1:])})" if len(names) > 1 else ""
            lines.append(f"- `{prefix}{names[0]}`{others} — {t(c.summary)}")
        sections.append("\n".join(lines))
    sections.append(t("Details: `{prefix}help <command>`. Language: `{prefix}lang nl` or `{prefix}lang en`. "
                      "You can also just ask me a question in Dutch or English.", prefix=prefix))
    return "\n\n".join(sections)


def escape_params(params: dict) -> dict:
    return {k: md_escape(v) if isinstance(v, str) else v for k, v in params.items()}
