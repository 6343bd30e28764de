"""`dsih-bot import funding FILE` / `dsih-bot export funding --format csv|json|yaml`.

Import: CSV, JSON or YAML by extension; every record validated (pydantic); errors name
the record number (1-based, in file order) and the field; all-or-nothing: one bad record
rejects the whole file and changes nothing; upsert by `id`. CSV encodes lists as
`|`-joined values, `deadlines` as a JSON string column and `stale`/`dates_indicative` as
true/false. Records without `origin` are stored as `import`."""
from __future__ import annotations

from bot.framework.i18n import N_
from storage.datasets.dataset import DataSet
from storage.datasets.file import DataFile, bool_codec, json_list_codec
from storage.funding.models import FundingInstrument
from storage.funding.records import (
    BUNDLED_BY, DATA_FILE, FIELDS, FUNDING_INDEX, InstrumentRecord, load_bundled, record_of, reindex,
)
from storage.datasets.reload import reload_bundled
from storage.funding import changes

def track_changes(session, now, ids, source, by):
    """What an import or reload changes in the records `ids` becomes FundingChange rows, so
    followers hear of a deadline moved earlier however it was changed (a large file: every
    record is compared, instead of an IN list past the databases' parameter limits)."""
    where = FundingInstrument.id.in_(ids) if len(ids) <= 1000 else None
    return changes.tracking(session, now, source=source, by=by, where=where)


FILE = DataFile("instruments", InstrumentRecord, tuple(FIELDS), list_fields=("themes", "eligible_applicants"),
                codecs={"deadlines": json_list_codec(), "dates_indicative": bool_codec(), "stale": bool_codec()}, name="funding", table=FundingInstrument,
                noun="funding instruments", record_of=record_of, reindex=reindex,
                stamp=lambda actor: {"updated_by": actor}, track_changes=track_changes)

import_file = FILE.import_file
export_text = FILE.export_text


async def load_sample_data(session) -> int:
    """Fill an empty table from the bundled file; in a filled one, add new bundled records and
    bring bundled records nobody edited here up to date: the same merge as `!admin data
    reload` (storage.datasets.reload). Returns how many rows were added or changed."""
    count = await reload_bundled(session, DATASET)
    return count.added + count.changed


DATASET = DataSet("funding", FundingInstrument, FUNDING_INDEX, load_sample_data, reindex, N_("funding instruments"),
                  stamped=("updated_at",), file=FILE, load_bundled=load_bundled,
                  keep=("external_status", "last_seen_at", "stale"), bundled_by=BUNDLED_BY,
                  bilingual=(("instruments", "summary", "summary_nl"), ("instruments", "title", "title_nl")),
                  bundled_path=DATA_FILE,
                  track_changes=track_changes)
