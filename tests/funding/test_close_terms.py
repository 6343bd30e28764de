"""Issue 19: "Verwante termen: voor". A close term is something to search with, so a stop
word (Dutch or English) is never offered, whatever the query and the titles hold."""
from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings, strategies as st

from commands.funding.commands import suggestions_for
from storage.search import STOPWORDS

ROWS = [SimpleNamespace(title="Subsidie voor klimaatadaptatie voor gemeenten", title_nl=None, programme="Over de regeling"),
        SimpleNamespace(title="Funding for water with municipalities", title_nl="Geld voor water", programme=None)]


def test_a_stop_word_is_never_a_close_term():
    for query in ("voor", "vor", "voo", "with", "wiht", "over", "ovr de", "for the"):
        out = suggestions_for(query, ROWS)
        assert not [w for w in out if w in STOPWORDS], (query, out)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", max_size=20) | st.sampled_from(sorted(STOPWORDS)))
def test_no_query_gets_a_stop_word_offered(query):
    assert not [w for w in suggestions_for(query, ROWS) if w in STOPWORDS]
