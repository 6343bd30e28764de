"""`dsih-bot import labs FILE` / `dsih-bot export labs --format csv|json|yaml`.

Import: CSV, JSON or YAML by extension; every record validated (pydantic, see
storage.labs_data.LabRecord); errors name the record number (1-based, in file order) and
the field; all-or-nothing: one bad record rejects the whole file and changes nothing;
upsert by `id`. CSV encodes lists (themes, facilities, facilities_nl, target_users, services) as
`|`-joined values and enoll_member as true/false (also ja/nee, yes/no, 1/0)."""
from __future__ import annotations

from storage.datafile import DataFile, bool_codec
from storage.labs_data import FIELDS, LIST_FIELDS, LabRecord, record_of, reindex
from storage.models.labs import Lab

FILE = DataFile("labs", LabRecord, tuple(FIELDS), list_fields=tuple(LIST_FIELDS),
                codecs={"enoll_member": bool_codec()}, name="labs", table=Lab, noun="living labs",
                record_of=record_of, reindex=reindex)

import_file = FILE.import_file
export_text = FILE.export_text
