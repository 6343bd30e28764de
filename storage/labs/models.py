"""Living labs and access requests to them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class Lab(Base):
    """A living lab, fieldlab or test facility (bundled data or imported)."""
    __tablename__ = "labs"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    host_organisation: Mapped[str] = mapped_column(String(500), default="")
    ecosystem: Mapped[str | None] = mapped_column(String(200), default=None)
    municipality: Mapped[str] = mapped_column(String(100), default="")
    province: Mapped[str] = mapped_column(String(50), default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    facilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    facilities_nl: Mapped[list[str]] = mapped_column(JSON, default=list)   # Dutch text of `facilities`
    target_users: Mapped[list[str]] = mapped_column(JSON, default=list)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    enoll_member: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_note: Mapped[str | None] = mapped_column(Text, default=None)
    website: Mapped[str | None] = mapped_column(String(500), default=None)
    contact: Mapped[str | None] = mapped_column(String(255), default=None)  # role address or Matrix ID
    description: Mapped[str] = mapped_column(Text, default="")
    description_nl: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    last_checked: Mapped[date | None] = mapped_column(Date, default=None)
    checked_by: Mapped[str | None] = mapped_column(String(255), default=None)   # who checked it on last_checked
    # A lab that stopped (or a temporary site that will): the day, whether it is only known
    # roughly (then only its year is shown), and where that is stated.
    ended_on: Mapped[date | None] = mapped_column(Date, default=None)
    end_estimate: Mapped[bool] = mapped_column(Boolean, default=False)
    end_source: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_labs_province", "province"),
        Index("ix_labs_lat_lon", "latitude", "longitude"),
    )

    @property
    def matrix_contact(self) -> str | None:
        c = (self.contact or "").strip()
        return c if c.startswith("@") and ":" in c and " " not in c else None


class LabRequest(Base):
    """An access request; its id is the number users see (`!request accept 12`)."""
    __tablename__ = "lab_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lab_id: Mapped[str] = mapped_column(String(100), ForeignKey("labs.id"))
    requester: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | accepted | declined
    responder: Mapped[str | None] = mapped_column(String(255), default=None)
    response: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_lab_requests_requester", "requester"),
        Index("ix_lab_requests_status", "status"),
    )
