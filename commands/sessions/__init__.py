"""Peer-review sessions ("test before invest"), one capability in a few modules that all
hang their commands off the cog and the `!session` group in base.py (manifest.py lists them):

- planning.py  new, list, show, join, leave, assign, move, cancel, and the reminders
- polls.py     time-slot polls (MSC3381) and `!vote`, closed into a session
- calendar.py  the .ics invitation
- reviews.py   `!review`, scores per criterion, the guided dialogue
- report.py    the presenter's report (message, Markdown file, PNG chart) and actions
- formats.py   timed rounds (intervisie, peer review) posted as they start"""
