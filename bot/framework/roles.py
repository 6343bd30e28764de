"""Who may do what: the only place where roles and the allow-list are decided."""
from __future__ import annotations

import enum
from fnmatch import fnmatchcase

from bot.framework.i18n import N_

# Power level that makes a room member a facilitator in that room (Matrix "moderator").
FACILITATOR_POWER_LEVEL = 50


class Role(enum.IntEnum):
    MEMBER = 1
    ROOM_FACILITATOR = 2  # power level >= 50 in this (community) room: rights in this room only
    FACILITATOR = 3       # configured in bot.facilitators: rights over shared data
    ADMIN = 4

    @property
    def label(self) -> str:
        return {Role.MEMBER: N_("member"), Role.ROOM_FACILITATOR: N_("facilitator of this room"),
                Role.FACILITATOR: N_("facilitator"), Role.ADMIN: N_("admin")}[self]

    def refusal(self, room_grants: bool) -> str:
        """What someone without this role is told: who may use `{command}` (an English msgid).
        Where the room grants no roles (a direct chat, a room of just the user and the bot),
        its power levels cannot help, so the sentence says where they would."""
        if self == Role.ROOM_FACILITATOR and not room_grants:
            return N_("Only a hub facilitator can use {command} here. In a room with other people, "
                      "that room's facilitators (power level 50 or more) can use it too.")
        return {Role.ROOM_FACILITATOR: N_("Only a facilitator of this room (power level 50 or more) "
                                          "or a hub facilitator can use {command}."),
                Role.FACILITATOR: N_("Only a hub facilitator or an admin can use {command}."),
                }.get(self, N_("Only an admin of the bot can use {command}."))


class Access:
    def __init__(self, *, admins, facilitators, allowed_users, own_server: str | None):
        self.admins = set(admins)
        self.facilitators = set(facilitators)
        self.allowed = list(allowed_users) or ([f"@*:{own_server}"] if own_server else ["*"])

    def is_allowed(self, user_id: str) -> bool:
        if user_id in self.admins or user_id in self.facilitators:
            return True
        return any(fnmatchcase(user_id, pattern) for pattern in self.allowed)

    def global_role(self, user_id: str) -> Role:
        """The configured role: the only one that reaches shared data."""
        if user_id in self.admins:
            return Role.ADMIN
        if user_id in self.facilitators:
            return Role.FACILITATOR
        return Role.MEMBER

    def role_of(self, user_id: str, power_level: int = 0, *, room_grants: bool = False) -> Role:
        """The role in the room a command came from. A power level counts only where the
        room grants roles (a community room: never a direct chat or a room of just the
        user and the bot), and only as ROOM_FACILITATOR, never over shared data."""
        role = self.global_role(user_id)
        if role == Role.MEMBER and room_grants and power_level >= FACILITATOR_POWER_LEVEL:
            return Role.ROOM_FACILITATOR
        return role
