"""Peer-review sessions ("test before invest"), one capability in a few modules that all
hang their commands off the cog and the `!session` group in base.py:

- planning.py  new, list, show, join, leave, assign, move, cancel, and the reminders
- polls.py     time-slot polls (MSC3381) and `!vote`, closed into a session
- calendar.py  the .ics invitation
- reviews.py   `!review`, scores per criterion, the guided dialogue
- report.py    the presenter's report (message, Markdown file, PNG chart) and actions
- formats.py   timed rounds (intervisie, peer review) posted as they start"""
import importlib

from commands.sessions.base import cog

for _part in ("planning", "polls", "calendar", "reviews", "report", "formats"):
    try:
        importlib.import_module(f"commands.sessions.{_part}")
    except ModuleNotFoundError as exc:  # parts are still being written (removed when all exist)
        if exc.name != f"commands.sessions.{_part}":
            raise

__all__ = ["cog"]
