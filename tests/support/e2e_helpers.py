"""Small helpers shared by end-to-end tests."""
from __future__ import annotations

from support.matrix_user import content_of


def body_of(event) -> str:
    return content_of(event).get("body", "")


def html_of(event) -> str:
    return content_of(event).get("formatted_body", "")


def relates_of(event) -> dict:
    return content_of(event).get("m.relates_to") or {}
