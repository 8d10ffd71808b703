"""The review CSV: what a person decides on, safe to open in a spreadsheet.

Cells a spreadsheet would execute (leading =, +, -, @, tab, CR) get a leading apostrophe,
as OWASP's CSV-injection guidance says; a plain phone number (+4915...) or number stays as is.
It is written through tenant_integrity.store.storage (a local file with mode 0600: it holds customer data; or an
object in the configured store), streamed: the rows are never all in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from tenant_integrity.store import storage

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HARMLESS = re.compile(r"^(\+[0-9][0-9 ()/.-]*|-?[0-9]+(\.[0-9]+)?)$")
FIXED_COLUMNS = ["row_id", "reason", "candidates"]
DECISION_COLUMN = "decision"


def neutralise(value) -> str:
    """The text of one cell, never something a spreadsheet evaluates."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    text = str(value)
    if text.startswith(FORMULA_START) and not HARMLESS.match(text):
        return "'" + text
    return text


def mask_email(value) -> str:
    """k***@example.org: enough to recognise a customer, not enough to contact them."""
    text = "" if value is None else str(value)
    local, at, domain = text.partition("@")
    return f"{local[:1]}***@{domain}" if at else ("***" if text else "")


def mask_phone(value) -> str:
    """+49151****78: country/network prefix and the last two digits stay."""
    text = "" if value is None else str(value)
    digits = sum(c.isdigit() for c in text)
    if digits <= 4:
        return "*" * len(text)
    return text[:6] + "****" + text[-2:]


MASKS = {"email": mask_email, "phone": mask_phone}


def write_review_csv(
    path: ObjectStoragePath | Path,
    review_columns: Iterable[str],
    rows: Iterable[dict],
    mask: dict[str, str] | None = None,
) -> int:
    """Write the review file (header + one line per row, masked columns masked); returns the row count."""
    header = FIXED_COLUMNS + list(review_columns) + [DECISION_COLUMN]
    count = 0
    with storage.open_text_write(path, private=True) as handle:  # a local file: 0600, also when it existed
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        maskers = {column: MASKS[kind] for column, kind in (mask or {}).items()}
        for row in rows:
            cells = [maskers[c](row.get(c)) if c in maskers else row.get(c) for c in header[:-1]]
            writer.writerow([*(neutralise(cell) for cell in cells), ""])
            count += 1
    return count
