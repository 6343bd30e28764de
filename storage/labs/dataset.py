"""`dsih-bot import labs FILE` / `dsih-bot export labs --format csv|json|yaml`.

Import: CSV, JSON or YAML by extension; every record validated (pydantic, see
storage.labs.records.LabRecord); errors name the record number (1-based, in file order) and
the field; all-or-nothing: one bad record rejects the whole file and changes nothing;
upsert by `id`. CSV encodes lists (themes, facilities, facilities_nl, target_users, services) as
`|`-joined values and enoll_member as true/false (also ja/nee, yes/no, 1/0)."""
from __future__ import annotations

from bot.framework.i18n import N_
from storage.datasets.dataset import DataSet
from storage.datasets.file import DataFile, bool_codec
from storage.labs.models import Lab
from storage.labs.records import (
    DATA_FILE, FIELDS, LABS_INDEX, LIST_FIELDS, LabRecord, load_bundled, load_sample_data, record_of, reindex,
)

FILE = DataFile("labs", LabRecord, tuple(FIELDS), list_fields=tuple(LIST_FIELDS),
                codecs={"enoll_member": bool_codec(), "end_estimate": bool_codec()}, name="labs", table=Lab, noun="living labs",
                record_of=record_of, reindex=reindex)

import_file = FILE.import_file
export_text = FILE.export_text

DATASET = DataSet("labs", Lab, LABS_INDEX, load_sample_data, reindex, N_("living labs"), stamped=("updated_at",),
                  file=FILE, load_bundled=load_bundled, bilingual=(("labs", "description", "description_nl"),),
                  bundled_path=DATA_FILE)
