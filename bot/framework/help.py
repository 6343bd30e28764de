"""Usage lines and help pages, generated from the command declarations and docstrings."""
from __future__ import annotations

from bot.framework.command import Command, Registry
from bot.i18n import Translator
from bot.render import md_escape


def usage(cmd: Command, prefix: str, t: Translator) -> str:
    parts = [f"{prefix}{cmd.qualified_name}"]
    for arg in cmd.arguments:
        text = f"<{arg.name}…>" if arg.rest else f"<{arg.name}>"
        parts.append(text if arg.required else f"[{text}]")
    for opt in cmd.options:
        parts.append(f"[--{opt.name}]" if opt.is_flag else f"[--{opt.name} <{t(opt.converter.metavar)}>]")
    return " ".join(parts)


def command_help(cmd: Command, prefix: str, t: Translator) -> str:
    lines = [f"**{prefix}{cmd.qualified_name}** — {t(cmd.summary)}" if cmd.summary else f"**{prefix}{cmd.qualified_name}**"]
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
    aliases = [*cmd.aliases, *cmd.dutch]
    if cmd.parent is not None:
        # A subcommand's other names are typed after its parent's: `!sessie peiling`.
        parent = cmd.parent
        dutch_parent = parent.dutch[0] if parent.dutch else parent.qualified_name
        aliases = [f"{parent.qualified_name} {a}" for a in cmd.aliases] + [f"{dutch_parent} {a}" for a in cmd.dutch]
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
