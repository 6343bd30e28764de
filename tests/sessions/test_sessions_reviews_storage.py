"""Reviews and actions on SQLite and PostgreSQL: scores live in a JSON column that is
replaced (not mutated) so the change is saved; only submitted reviews count; the
dialogue's language column exists after the migration; actions come back by due date."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from commands.sessions.report import criterion_stats, session_actions, submitted_reviews
from commands.sessions.reviews import set_score
from storage.sessions.models import Review, ReviewSession, SessionAction

T0 = datetime(2027, 3, 30, 12, 0, tzinfo=timezone.utc)


async def test_scores_saved_and_only_submitted_reviews_count(db):
    async with db.transaction() as s:
        s.add(ReviewSession(id=1, title="t", facilitator="@f:test", starts_at=T0, ends_at=T0 + timedelta(hours=1),
                            room_id="!a:test", capacity=8, status="planned", timezone="Europe/Amsterdam", language="nl"))
        await s.flush()
        for n, who in enumerate(("@a:test", "@b:test", "@c:test")):
            s.add(Review(session_id=1, reviewer=who, scores={}, named=False, updated_at=T0, language="en",
                         submitted_at=T0 + timedelta(minutes=n) if who != "@c:test" else None))
    async with db.transaction() as s:
        for who, score in (("@a:test", 4), ("@b:test", 2), ("@c:test", 5)):
            r = await s.get(Review, (1, who))
            set_score(r, "impact", score, "ok ‘quoted’ <b>", T0)
        set_score(await s.get(Review, (1, "@a:test")), "feasibility", 3, None, T0)
    async with db.session() as s:
        reviews = await submitted_reviews(s, 1)
        assert [r.reviewer for r in reviews] == ["@a:test", "@b:test"]
        assert reviews[0].scores == {"impact": {"score": 4, "comment": "ok ‘quoted’ <b>"},
                                     "feasibility": {"score": 3, "comment": ""}}
        impact, feasibility = criterion_stats(reviews, ["impact", "feasibility"])
        assert (impact.mean, impact.n, feasibility.n) == (3.0, 2, 1)
        assert reviews[0].language == "en"


async def test_actions_in_due_order(db):
    async with db.transaction() as s:
        s.add(ReviewSession(id=1, title="t", facilitator="@f:test", starts_at=T0, ends_at=T0 + timedelta(hours=1),
                            room_id="!a:test", capacity=8, status="planned", timezone="Europe/Amsterdam", language="nl"))
        await s.flush()
        for n, days in enumerate((9, 3, 6)):
            s.add(SessionAction(session_id=1, text=f"a{n}", owner="@o:test", due=T0 + timedelta(days=days),
                                created_by="@f:test"))
    async with db.session() as s:
        assert [a.text for a in await session_actions(s, 1)] == ["a1", "a2", "a0"]
