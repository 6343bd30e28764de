"""Who may do what: the only place where roles and the allow-list are decided."""
from __future__ import annotations

import enum
from fnmatch import fnmatchcase

from bot.i18n import N_

# Power level that makes a room member a facilitator in that room (Matrix "moderator").
FACILITATOR_POWER_LEVEL = 50


class Role(enum.IntEnum):
    MEMBER = 1
    FACILITATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return {Role.MEMBER: N_("member"), Role.FACILITATOR: N_("facilitator"), Role.ADMIN: N_("admin")}[self]


class Access:
    def __init__(self, *, admins, facilitators, allowed_users, own_server: str | None):
        self.admins = set(admins)
        self.facilitators = set(facilitators)
        self.allowed = list(allowed_users) or ([f"@*:{own_server}"] if own_server else ["*"])

    def is_allowed(self, user_id: str) -> bool:
        if user_id in self.admins or user_id in self.facilitators:
            return True
        return any(fnmatchcase(user_id, pattern) for pattern in self.allowed)

    def role_of(self, user_id: str, power_level: int = 0) -> Role:
        if user_id in self.admins:
            return Role.ADMIN
        if user_id in self.facilitators or power_level >= FACILITATOR_POWER_LEVEL:
            return Role.FACILITATOR
        return Role.MEMBER
