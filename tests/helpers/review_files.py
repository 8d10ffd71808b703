"""Review CSVs as a person returns them, and the decisions the tests take for data sets 1+2."""

from __future__ import annotations

import csv
import io
from pathlib import Path

# data sets 1+2's seven review rows: 3 tenants, 1 orphan, 3 skips (101, 106 and 109 contradict any tenant)
DECISIONS = {101: "skip", 103: "83", 104: "1", 106: "skip", 109: "orphan", 110: "84", 111: "skip"}
# the tenant each review row carries once DECISIONS are applied
TENANTS_AFTER_DECISIONS = {101: None, 103: 83, 104: 1, 106: None, 109: None, 110: 84, 111: None}


def filled(path: Path, decisions: dict[int, str], name="decided.csv", newline="\r\n", bom=False) -> Path:
    """The exported file with the decision column filled in, written as a spreadsheet would."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    out = io.StringIO()
    # a tool that saves with LF quotes every cell (a bare CR inside a cell would otherwise end the record)
    writer = csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_MINIMAL if newline == "\r\n" else csv.QUOTE_ALL)
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([*row[:-1], decisions.get(int(row[0]), row[-1])])
    target = path.parent / name
    target.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))
    return target
