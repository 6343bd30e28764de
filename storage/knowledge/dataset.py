"""`dsih-bot import knowledge FILE` / `dsih-bot export knowledge --format csv|json|yaml`.

Same rules as funding and labs (storage/datasets/file.py: validated per record, all-or-nothing),
but knowledge items are keyed by their normalised URL, not by a file id: the database
numbers items itself, and the same link in two files or shared in chat is one item.
CSV encodes `topics` as `|`-joined topic ids."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.framework.i18n import N_
from storage.datasets.dataset import DataSet
from storage.datasets.file import DataFile
from storage.knowledge.models import KnowledgeItem
from storage.knowledge.records import (
    DATA_FILE, FIELDS, KNOWLEDGE_INDEX, KnowledgeRecord, load_bundled, load_sample_data, record_of, reindex,
)


FILE = DataFile("items", KnowledgeRecord, tuple(FIELDS), list_fields=("topics",), name="knowledge",
                table=KnowledgeItem, noun="knowledge items", record_of=record_of, reindex=reindex,
                key_column="url", match_column="url_key",   # KnowledgeRecord.id is the normalised URL
                on_create=lambda: {"shared_at": datetime.now(timezone.utc), "shared_by": None})

import_file = FILE.import_file
export_text = FILE.export_text

DATASET = DataSet("knowledge", KnowledgeItem, KNOWLEDGE_INDEX, load_sample_data, reindex, N_("knowledge items"),
                  stamped=("shared_at",), file=FILE, load_bundled=load_bundled, bundled_path=DATA_FILE)
