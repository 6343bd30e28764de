"""The operator's settings: one YAML file, every key overridable by an
environment variable ``DSIH_BOT__SECTION__KEY``."""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.durations import TimeParseError, parse_duration

MXID_PATTERN = r"^@[^:\s]+:[^\s]+$"


def _human_duration(value: Any) -> Any:
    """`15m`, `24h`, `3d` as well as ISO 8601 (`PT15M`) and plain seconds."""
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except TimeParseError as exc:
            raise ValueError(exc.message.format(**exc.params)) from None
    return value


HumanDuration = Annotated[timedelta, BeforeValidator(_human_duration)]


class ConfigError(Exception):
    """A configuration problem, worded for the operator (one line per problem)."""


class MatrixSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    homeserver: AnyHttpUrl | None = None
    user_id: str | None = Field(default=None, pattern=MXID_PATTERN)
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_name: str = "dsih-bot"
    # Cap for the reconnect backoff when the homeserver is away.
    reconnect_max_seconds: float = Field(default=60.0, gt=0)
    # Timeline events per room per sync; large enough that a short outage loses no command.
    timeline_limit: int = Field(default=100, ge=10, le=1000)
    # How often a rate-limited (429) send is retried before it is logged as failed.
    max_send_retries: int = Field(default=8, ge=0, le=100)
    # Cross-sign every device the bot logs in with (bot.matrix.cross_signing): Element shares no
    # room keys with, and hides messages from, devices their owner has not cross-signed.
    cross_signing: bool = True


def user_data_dir(app: str = "dsih-bot") -> Path:
    """The user's own data directory for `app` (platformdirs when installed; else
    $XDG_DATA_HOME/dsih-bot or ~/.local/share/dsih-bot): where the console keeps its
    database, whatever folder it is started from."""
    try:
        import platformdirs
    except ImportError:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / app
    return Path(platformdirs.user_data_dir(app, appauthor=False))


class StorageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_dir: Path = Path("./data")
    database_url: str | None = None
    load_sample_data: bool = True
    # PostgreSQL: replicas elect one active process by an advisory lock (bot.matrix.leader);
    # SQLite: a file lock refuses a second process on the same data_dir. false: neither.
    replica_lock: bool = True

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'dsih-bot.sqlite3').resolve()}"

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected a URL starting with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value


class BotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command_prefix: str = Field(default="!", min_length=1, max_length=3)
    language: Literal["nl", "en"] = "nl"
    timezone: str = "Europe/Amsterdam"
    admins: list[str] = Field(default_factory=list)
    facilitators: list[str] = Field(default_factory=list)
    # Glob patterns (fnmatch) of MXIDs that may invite and use the bot; empty = own homeserver.
    allowed_users: list[str] = Field(default_factory=list)
    max_command_age: HumanDuration = timedelta(minutes=15)
    # Room that receives lab access requests when a lab has no Matrix contact.
    facilitators_room: str | None = None
    # The hub's Matrix Space (room id or alias): power level >= 50 in the Space makes someone a
    # facilitator of each of its child rooms, as that room's own moderators are.
    space: str | None = None
    # Flood guard: at most `rate_limit_count` commands per `rate_limit_window` per user.
    rate_limit_count: int = Field(default=10, ge=1)
    rate_limit_window: HumanDuration = timedelta(seconds=60)
    page_size: int = Field(default=5, ge=1, le=50)
    # For tests and demos only: the bot behaves as if it started at this moment; its clock
    # then advances normally (deadlines, days left, "stale" notes follow the pretended date).
    pretend_now: datetime | None = None

    @field_validator("pretend_now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expected a date and time with a zone, e.g. 2026-11-25T12:00:00+00:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Amsterdam") from None
        return value

    @field_validator("space")
    @classmethod
    def _space(cls, value: str | None) -> str | None:
        import re

        if value is None or not value.strip():
            return None
        value = value.strip()
        # Room ids of version 12 are `!<hash>` without a server part; aliases are `#name:server`.
        if not re.match(r"^(![^\s]+|#[^:\s]+:[^\s]+)$", value) or len(value) > 255:
            raise ValueError(f"expected the Space's room id (!…) or alias (#name:example.org), got {value!r}")
        return value

    @field_validator("admins", "facilitators")
    @classmethod
    def _mxids(cls, value: list[str]) -> list[str]:
        import re

        for item in value:
            if not re.match(MXID_PATTERN, item):
                raise ValueError(f"expected Matrix user IDs like @name:example.org, got {item!r}")
        return value


class FundingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Every answer that shows a record last checked longer ago than this says so.
    stale_after: HumanDuration = timedelta(days=60)
    # `dsih-bot refresh funding --source eu-ft`: the portal's public search API (SEDIA key),
    # and how long a portal record may be missing from the results before it is marked stale.
    eu_ft_url: AnyHttpUrl = AnyHttpUrl("https://api.tech.ec.europa.eu/search-api/prod/rest/search")
    eu_ft_api_key: str = "SEDIA"
    # One listing of every open and forthcoming call, 100 rows a page (the service's cap);
    # a listing longer than page size x max pages is read in part and marks nothing gone.
    eu_ft_page_size: int = Field(default=100, ge=1, le=100)
    eu_ft_max_pages: int = Field(default=30, ge=1, le=100)
    eu_ft_timeout: HumanDuration = timedelta(seconds=60)
    unseen_after: HumanDuration = timedelta(days=14)
    # `dsih-bot refresh funding --source officiele-bekendmakingen`: KOOP's SRU interface for the
    # official journals; publications of the last `bekendmakingen_days` become candidates.
    bekendmakingen_url: AnyHttpUrl = AnyHttpUrl("https://repository.overheid.nl/sru")
    bekendmakingen_since: HumanDuration = timedelta(days=14)
    bekendmakingen_page_size: int = Field(default=100, ge=1, le=1000)
    bekendmakingen_max_pages: int = Field(default=10, ge=1, le=100)
    bekendmakingen_timeout: HumanDuration = timedelta(seconds=60)
    # The facilitators' room gets a summary of new candidates once a day at this local time.
    candidates_summary_at: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @field_validator("stale_after", "unseen_after", "bekendmakingen_since")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("expected a positive duration such as 60d")
        return value


DEFAULT_CRITERIA = ["impact", "feasibility", "scalability", "interoperability", "public_values"]


class SessionSettings(BaseModel):
    """Peer-review sessions (commands/sessions.py)."""
    model_config = ConfigDict(extra="forbid")
    # Reminder offsets before a session starts; each participant gets a DM, the room one notice.
    reminders: list[HumanDuration] = Field(default_factory=lambda: [timedelta(hours=24), timedelta(hours=1)])
    default_duration: HumanDuration = timedelta(minutes=90)
    default_capacity: int = Field(default=8, ge=1, le=500)
    # Review criteria keys (built-in ones have English and Dutch labels; others are shown as written).
    criteria: list[str] = Field(default_factory=lambda: list(DEFAULT_CRITERIA), min_length=1, max_length=12)
    # The report goes to the presenter when every reviewer has submitted, or this long after the end.
    report_after: HumanDuration = timedelta(hours=24)
    # Action owners are reminded this long before the due date.
    action_reminder: HumanDuration = timedelta(days=2)
    # Longest series (`--every 4w --until …`) in occurrences.
    max_series: int = Field(default=26, ge=1, le=104)
    # The ORGANIZER of a session's calendar file is `mailto:` this facilitator's address when
    # it is known here (Matrix ID -> e-mail), else `organizer_email` (the hub's address), else
    # the file has no ORGANIZER: calendars cannot use a Matrix link there.
    organizer_emails: dict[str, str] = Field(default_factory=dict)
    organizer_email: str | None = None

    @field_validator("reminders")
    @classmethod
    def _positive(cls, value: list[timedelta]) -> list[timedelta]:
        if any(v.total_seconds() <= 0 for v in value):
            raise ValueError("reminder offsets must be positive durations such as 24h or 1h")
        return sorted(set(value), reverse=True)


class KnowledgeSettings(BaseModel):
    """Knowledge items and partners' feeds (commands/knowledge/commands.py, commands/knowledge/feeds.py)."""
    model_config = ConfigDict(extra="forbid")

    class Feed(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: AnyHttpUrl
        # Topic ids (or labels/aliases) every entry gets, and its kind of item: checked and
        # normalised by the knowledge capability when it loads (commands/knowledge/settings_check.py).
        topics: list[str] = Field(default_factory=list)
        kind: str = "publication"
        organisation: str | None = None                   # shown with its items; default: the feed's title
        moderation: bool | None = None                    # None: as knowledge.moderation

        @field_validator("url")
        @classmethod
        def _short_enough(cls, value: AnyHttpUrl) -> AnyHttpUrl:
            if len(str(value)) > 1000:
                raise ValueError("a feed URL of at most 1000 characters is expected")
            return value

    # Shared items wait for a configured facilitator's !approve before others see them.
    moderation: bool = False
    feeds: list[Feed] = Field(default_factory=list)
    # How often the feeds are polled; a failing feed backs off from this up to a day.
    poll_interval: HumanDuration = timedelta(hours=1)

    @field_validator("poll_interval")
    @classmethod
    def _sane_interval(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 1:
            raise ValueError("the poll interval must be at least one second")
        return value


class DigestSettings(BaseModel):
    """Knowledge digests and deadline alerts (commands/digests.py)."""
    model_config = ConfigDict(extra="forbid")
    # A subscriber gets one alert when an instrument on a followed topic closes within this.
    deadline_alert: HumanDuration = timedelta(days=14)
    # Items per section of a digest; the rest is "and K more: !knowledge --topic …".
    max_items: int = Field(default=5, ge=1, le=50)
    # Defaults of `!subscribe` without --at / --day (local wall time of the subscriber).
    default_time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    default_day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    # How far ahead a digest looks for deadlines, sessions, events and trainings.
    horizon: HumanDuration = timedelta(days=30)
    # One batched run every this long sends every digest that has fallen due.
    run_every: HumanDuration = timedelta(minutes=5)


class MetricsSettings(BaseModel):
    """Optional HTTP listener with /metrics (Prometheus), /healthz and /readyz."""
    model_config = ConfigDict(extra="forbid")
    # `9464` or `127.0.0.1:9464` (loopback); another address only when written out.
    listen: str | None = Field(default=None, pattern=r"^(\d{1,5}|[\w.\-]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$")


class HttpSettings(BaseModel):
    """What the HTTP listener (`metrics.listen`) serves beyond metrics: the address people
    reach it at from outside (a reverse proxy's), used in the calendar feed links."""
    model_config = ConfigDict(extra="forbid")
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")


class BrokerageSettings(BaseModel):
    """Interest, partners and introductions (commands/brokerage) and the calendar feed."""
    model_config = ConfigDict(extra="forbid")
    # A facilitator invited to every introduction room (a Matrix ID), or none.
    facilitator: str | None = Field(default=None, pattern=r"^@[^\s:]+:[^\s]+$")
    # Requests per calendar feed token per minute before the listener answers 429.
    feed_requests_per_minute: int = Field(default=30, ge=1, le=10_000)


class LoggingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"  # `run --log-format` overrides


class _YamlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls, data: dict[str, Any]):
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DSIH_BOT__", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )
    matrix: MatrixSettings = Field(default_factory=MatrixSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    bot: BotSettings = Field(default_factory=BotSettings)
    funding: FundingSettings = Field(default_factory=FundingSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    digests: DigestSettings = Field(default_factory=DigestSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    brokerage: BrokerageSettings = Field(default_factory=BrokerageSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    _yaml_data: dict[str, Any] = {}

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # Precedence: explicit arguments > environment > YAML file.
        return (init_settings, env_settings, _YamlSource(settings_cls, cls._yaml_data))

    @model_validator(mode="after")
    def _login_method(self) -> "Settings":
        if self.matrix.password and self.matrix.access_token:
            raise ValueError("matrix: set either password or access_token, not both")
        return self

    def require_matrix(self) -> None:
        """`run` needs a homeserver and an identity; the console does not."""
        missing = [k for k in ("homeserver", "user_id") if getattr(self.matrix, k) is None]
        if not (self.matrix.password or self.matrix.access_token):
            missing.append("password or access_token")
        if missing:
            raise ConfigError(
                "\n".join(f"matrix.{m}: missing; expected a value in the config file or "
                          f"DSIH_BOT__MATRIX__{m.split()[0].upper()}" for m in missing)
            )

    @property
    def server_name(self) -> str | None:
        return self.matrix.user_id.split(":", 1)[1] if self.matrix.user_id else None


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" = {value!r}"
    if "secret" in key or "password" in key or "token" in key:
        shown = " = (hidden)"
    msg = error["msg"]
    if error["type"] == "extra_forbidden":
        msg = "unknown key (check spelling; see config/example.yaml)"
    return f"{key}{shown}: {msg}"


def load_settings(path: str | os.PathLike | None = None, **overrides: Any) -> Settings:
    """Load YAML (if given) + environment. Raises ConfigError with one line per problem."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: file not found") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML ({exc})") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{p}: expected a mapping of sections (matrix, storage, bot, funding, logging)")
        data = loaded
    Settings._yaml_data = data
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(e) for e in exc.errors())) from None
    finally:
        Settings._yaml_data = {}
