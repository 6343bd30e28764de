"""`dsih-bot` command line: run, console, demo, check-config, health, db upgrade, import,
export, refresh, backup, restore, crypto (bootstrap|reset|status of cross-signing). Long work shows a progress bar when stderr is a terminal
(bot.progress) and stays quiet under cron and systemd."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from config.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2
def _datasets() -> dict:
    """Every enabled capability's data sets by name (storage.datasets.DataSet)."""
    from commands import build_registry

    return dict(sorted(build_registry().datasets.items()))


def _settings(args) -> Settings:
    return load_settings(getattr(args, "config", None))


def _setup_logging(settings: Settings, fmt: str | None = None) -> None:
    from bot.framework.logs import setup

    setup(settings.logging.level, fmt or settings.logging.format)
    # nio logs every 429 and timeout at WARNING itself; our outbox and sync loop report those.
    logging.getLogger("nio").setLevel(max(logging.ERROR, logging.getLogger().level))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def cmd_run(args) -> int:
    settings = _settings(args)
    settings.require_matrix()
    _setup_logging(settings, args.log_format)
    from bot.matrix.credentials import make_private
    from bot.matrix.runtime import MatrixRuntime

    # Everything the bot writes (database, crypto store, credentials, logs) is its user's alone:
    # nio creates the crypto store with the default umask, i.e. world-readable device keys.
    os.umask(0o077)
    make_private(settings.storage.data_dir)

    profile_to = os.environ.get("DSIH_BOT_PROFILE")
    if profile_to:
        # For bench/ only: a cProfile of the whole run, written at a clean stop.
        import cProfile

        profiler = cProfile.Profile()
        try:
            return profiler.runcall(asyncio.run, MatrixRuntime(settings).run())
        finally:
            profiler.dump_stats(profile_to)
    return asyncio.run(MatrixRuntime(settings).run())


def cmd_console(args) -> int:
    settings = _settings(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from bot.console import run_console

    try:
        return asyncio.run(run_console(settings, user_id=args.user, role=args.role, commands=args.command,
                                       files_dir=Path(args.files) if args.files else None))
    except (KeyboardInterrupt, asyncio.CancelledError):
        # Ctrl-C (bot.console handles it: the main task is cancelled, so asyncio.run ends
        # with CancelledError). The console has stopped (database closed, nothing pending lost: unsent rows stay in
        # the outbox). Leave now: the thread still blocked reading stdin must not be waited
        # for, nor finalised while it holds stdin's lock.
        print("\ndsih-bot console stopped.", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)


def cmd_demo(args) -> int:
    from bot.demo import run_demo

    return run_demo(port=args.port, username=args.user, language=args.language)


def cmd_check_config(args) -> int:
    settings = _settings(args)
    if not args.console_only:
        settings.require_matrix()
    from commands import build_registry, settings_problems

    problems = settings_problems(build_registry(), settings)
    if problems:
        for problem in problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    for warning in config_warnings(settings):
        print(f"{args.config}: warning: {warning}", file=sys.stderr)
    print(f"{args.config}: OK (homeserver {settings.matrix.homeserver}, user {settings.matrix.user_id}, "
          f"database {settings.storage.effective_database_url.split('://')[0]})")
    if not args.console_only:
        from bot.crypto_cli import config_line

        line = config_line(settings)
        if line:
            print(f"{args.config}: {line}")
    return 0


EXAMPLE_PASSWORDS = {"change-me", "changeme", "password", "secret"}


def config_warnings(settings: Settings) -> list[str]:
    """Things that are valid but almost certainly a mistake (the example file's values)."""
    out = []
    password = settings.matrix.password
    value = password.get_secret_value() if hasattr(password, "get_secret_value") else password
    if value and str(value).strip().lower() in EXAMPLE_PASSWORDS:
        out.append("matrix.password is the example value 'change-me': set the bot account's real password "
                   "(or DSIH_BOT__MATRIX__PASSWORD)")
    return out


def cmd_health(args) -> int:
    """Healthy = a sync succeeded recently (long-polls return at least every 30 s)."""
    import time

    settings = _settings(args)
    beat = settings.storage.data_dir / "heartbeat"
    try:
        age = time.time() - beat.stat().st_mtime
    except FileNotFoundError:
        print("unhealthy: no successful sync yet")
        return 1
    if age > args.max_age:
        print(f"unhealthy: last successful sync {age:.0f}s ago")
        return 1
    print(f"healthy: last successful sync {age:.0f}s ago")
    return 0


async def _with_db(settings: Settings, work):
    """Open the configured database, bring its schema up to date, run `work(db)`, close."""
    from storage.db import Database

    db = Database(settings.storage.effective_database_url)
    try:
        await db.upgrade()
        return await work(db)
    finally:
        await db.dispose()


async def _nothing(db) -> None:
    return None


def cmd_db_upgrade(args) -> int:
    settings = _settings(args)
    _setup_logging(settings)
    asyncio.run(_with_db(settings, _nothing))
    print("database is up to date")
    return 0


def cmd_import(args) -> int:
    from bot.progress import Progress
    from storage.validation import ImportError_

    settings = _settings(args)
    _setup_logging(settings)
    if args.kind == "all":
        return _import_all(settings, Path(args.file))
    dataset = _datasets()[args.kind].file
    try:
        with Progress(f"import {args.kind}", unit="records") as bar:
            report = asyncio.run(_with_db(settings, lambda db: dataset.import_file(
                db, Path(args.file), actor="cli", progress=bar)))
    except ImportError_ as exc:
        print(f"import failed, nothing was changed:\n{exc}", file=sys.stderr)
        return 1
    print(report)
    return 0


def _import_all(settings: Settings, folder: Path) -> int:
    from bot.progress import Progress
    from storage.datasets.export import import_all
    from storage.validation import ImportError_

    try:
        with Progress("import all", unit="data sets") as bar:
            lines = asyncio.run(_with_db(settings, lambda db: import_all(
                db, folder, _datasets(), actor="cli", progress=bar)))
    except ImportError_ as exc:
        print(f"import failed, nothing was changed:\n{exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _export_all(settings: Settings, args) -> int:
    from bot.progress import Progress
    from storage.datasets.export import export_all

    if not args.dir:
        print("export all needs a folder: dsih-bot export all DIR", file=sys.stderr)
        return 1
    folder = Path(args.dir).expanduser()
    if not folder.resolve().parent.is_dir():
        print(f"export failed: the folder {folder.resolve().parent} does not exist", file=sys.stderr)
        return 1
    datasets = _datasets()
    try:
        with Progress("export all", unit="data sets") as bar:
            manifest = asyncio.run(_with_db(settings, lambda db: export_all(db, datasets, folder, args.format,
                                                                             progress=bar)))
    except OSError as exc:
        print(f"export failed: cannot write {folder}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{e['records']} {e['name']}" for e in manifest["data_sets"])
    print(f"exported {counts} to {folder} (manifest.json; load with `dsih-bot import all {folder}`)")
    return 0


def cmd_export(args) -> int:
    settings = _settings(args)
    _setup_logging(settings)
    if args.kind == "all":
        if args.output:
            print("export all writes one file per data set into a folder: dsih-bot export all DIR", file=sys.stderr)
            return 1
        return _export_all(settings, args)
    if args.dir:
        print(f"export {args.kind} takes no folder; use --output FILE (or `export all DIR`)", file=sys.stderr)
        return 1
    dataset = _datasets()[args.kind].file
    if args.output:
        folder = Path(args.output).expanduser().resolve().parent
        if not folder.is_dir():
            print(f"export failed: the folder {folder} does not exist", file=sys.stderr)
            return 1
    text = asyncio.run(_with_db(settings, lambda db: dataset.export_text(db, args.format)))
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"export failed: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


def cmd_backup(args) -> int:
    from bot.progress import Progress
    from storage.backup import backup

    settings = _settings(args)
    _setup_logging(settings)
    path = Path(args.file)
    if not path.parent.is_dir():
        print(f"backup failed: folder {path.parent} does not exist", file=sys.stderr)
        return 1
    with Progress("backup", unit="rows") as bar:
        counts = asyncio.run(_with_db(settings, lambda db: backup(db, path, progress=bar)))
    print(f"backup written to {path}: {sum(counts.values())} rows in {len(counts)} tables")
    return 0


def cmd_restore(args) -> int:
    from bot.progress import Progress
    from commands import build_registry
    from storage.backup import BackupError, restore
    from storage.db import Database

    settings = _settings(args)
    _setup_logging(settings)
    rebuild = [d.reindex for d in build_registry().datasets.values()]

    async def work(bar):
        db = Database(settings.storage.effective_database_url)
        try:
            return await restore(db, Path(args.file), reindex=rebuild, progress=bar)
        finally:
            await db.dispose()

    try:
        with Progress("restore", unit="rows") as bar:
            counts = asyncio.run(work(bar))
    except (BackupError, FileNotFoundError) as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    print(f"restored {sum(counts.values())} rows in {len(counts)} tables; search indexes rebuilt")
    return 0


def cmd_refresh(args) -> int:
    """Fetch fresh data from an external source into the database (meant for a nightly timer).
    `--source all`: every source in turn; one that fails does not keep the next from running,
    and the exit status says whether any failed."""
    settings = _settings(args)
    _setup_logging(settings)
    sources = REFRESH_SOURCES if args.source == "all" else (args.source,)
    failed = [source for source in sources if _refresh_one(settings, source) != 0]
    return 1 if failed else 0


REFRESH_SOURCES = ("eu-ft", "officiele-bekendmakingen")


def _refresh_one(settings, source: str) -> int:
    from bot.progress import Progress
    from storage.funding.eu_portal import PortalError
    from storage.funding.refresh import refresh_eu_ft

    # bot.pretend_now (tests and demos) also sets the refresh's "now", so staleness can be shown.
    now = settings.bot.pretend_now
    if source == "officiele-bekendmakingen":
        from storage.funding.bekendmakingen import SruError
        from storage.funding.candidates import refresh_bekendmakingen
        try:
            report = asyncio.run(_with_db(settings, lambda db: refresh_bekendmakingen(db, settings, now=now,
                                                                                     actor="cli")))
        except SruError as exc:
            print(f"refresh {source} failed, nothing was changed: {exc}", file=sys.stderr)
            return 1
        print(report.line())
        return 0
    try:
        with Progress("refresh funding (eu-ft listing)", unit="pages") as bar:
            report = asyncio.run(_with_db(settings, lambda db: refresh_eu_ft(
                db, settings, now=now, actor="cli", progress=bar)))
    except PortalError as exc:
        print(f"refresh {source} failed, nothing was changed: {exc}", file=sys.stderr)
        return 1
    print(report.line())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dsih-bot", description="Community bot of the Dutch Societal Innovation Hub")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="connect to the homeserver and serve")
    r.add_argument("--config", "-c", required=True)
    r.add_argument("--log-format", choices=("text", "json"), help="log lines as text (default) or JSON lines")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("console", help="try every command in a terminal, no homeserver needed")
    c.add_argument("--config", "-c")
    c.add_argument("--user", default="@you:console", help="who you are in the console (default @you:console)")
    c.add_argument("--role", choices=("member", "facilitator", "admin"), default="admin",
                   help="your role in the console (default admin); 'member' shows what an ordinary member sees")
    c.add_argument("--files", help="folder for the files the bot sends (default: files/ in the data directory)")
    c.add_argument("command", nargs="*", help="run these commands and exit (default: read stdin)")
    c.set_defaults(func=cmd_console)

    m = sub.add_parser("demo", help="try it for real: a throw-away local homeserver with the bot and an account "
                                     "for you (needs the demo extra: pip install 'dsih-bot[demo]')")
    m.add_argument("--port", type=int, help="homeserver port on 127.0.0.1 (default: a free one)")
    m.add_argument("--user", default="demo", help="your account's name (default demo)")
    m.add_argument("--language", choices=("nl", "en"), default="nl", help="the bot's default language (default nl)")
    m.set_defaults(func=cmd_demo)

    k = sub.add_parser("check-config", help="validate a config file without connecting")
    k.add_argument("--config", "-c", required=True)
    k.add_argument("--console-only", action="store_true", help="do not require the matrix section")
    k.set_defaults(func=cmd_check_config)

    h = sub.add_parser("health", help="exit 0 if the running bot synced recently (for container health checks)")
    h.add_argument("--config", "-c")
    h.add_argument("--max-age", type=float, default=120, help="seconds (default 120)")
    h.set_defaults(func=cmd_health)

    d = sub.add_parser("db", help="database maintenance")
    dsub = d.add_subparsers(dest="dbcmd", required=True)
    u = dsub.add_parser("upgrade", help="apply migrations")
    u.add_argument("--config", "-c")
    u.set_defaults(func=cmd_db_upgrade)

    i = sub.add_parser("import", help="import a data file (CSV, JSON or YAML); all-or-nothing, upsert by id")
    i.add_argument("kind", choices=[*_datasets(), "all"], help="a data set, or `all` for a folder from `export all`")
    i.add_argument("file", help="the data file (or, with `all`, the folder)")
    i.add_argument("--config", "-c")
    i.set_defaults(func=cmd_import)

    f = sub.add_parser("refresh", help="fetch fresh records from an external source (e.g. nightly)")
    f.add_argument("kind", choices=("funding",))
    f.add_argument("--source", choices=(*REFRESH_SOURCES, "all"), default="eu-ft",
                   help="eu-ft: open and forthcoming calls of the EU Funding & Tenders portal; "
                        "officiele-bekendmakingen: new Dutch subsidy regulations in the official journals, "
                        "as candidates for facilitators (`!funding candidates`); all: both, one after the other")
    f.add_argument("--config", "-c")
    f.set_defaults(func=cmd_refresh)

    e = sub.add_parser("export", help="export a data set, or every data set into a folder (`export all DIR`)")
    e.add_argument("kind", choices=[*_datasets(), "all"])
    e.add_argument("dir", nargs="?", help="with `all`: the folder (one file per data set and manifest.json)")
    e.add_argument("--format", "-f", choices=("yaml", "json", "csv"), default="yaml")
    e.add_argument("--output", "-o")
    e.add_argument("--config", "-c")
    e.set_defaults(func=cmd_export)

    b = sub.add_parser("backup", help="a consistent copy of the database while the bot runs (SQLite or PostgreSQL)")
    b.add_argument("file", help="e.g. dsih-backup-2026-11-25.jsonl.gz (written with mode 0600)")
    b.add_argument("--config", "-c")
    b.set_defaults(func=cmd_backup)

    from bot.crypto_cli import add_parser as add_crypto

    add_crypto(sub, _settings)

    rs = sub.add_parser("restore", help="load a backup into an empty database (also from SQLite into PostgreSQL)")
    rs.add_argument("file")
    rs.add_argument("--config", "-c")
    rs.set_defaults(func=cmd_restore)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
