"""The review CSV parser on its own: every problem named with its line; nothing else accepted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenant_integrity.repair.review_import import (
    MAX_BYTES,
    Decision,
    ReviewFileError,
    parse_review_csv,
    resolve_review_path,
)

HEADER = "row_id,reason,candidates,name,decision\r\n"


def problems(data: bytes) -> list[str]:
    with pytest.raises(ReviewFileError) as failure:
        parse_review_csv(data)
    return failure.value.problems


def test_decisions_with_bom_crlf_and_multiline_cells():
    data = (
        b"\xef\xbb\xbf"
        + (HEADER + '101,conflict,1:2,"two\r\nlines",15\r\n104,x,,Zoë,orphan\r\n106,x,,y, SKIP \r\n').encode()
    )
    assert parse_review_csv(data) == [
        Decision(2, 101, "tenant", 15),
        Decision(4, 104, "orphan"),
        Decision(5, 106, "skip"),
    ]


def test_lf_and_blank_lines():
    assert parse_review_csv(b"row_id,decision\n\n7,3\n") == [Decision(3, 7, "tenant", 3)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("x1,conflict,,n,15\r\n", ["line 2: row_id 'x1' is not an integer"]),
        ("1.5,conflict,,n,15\r\n", ["line 2: row_id '1.5' is not an integer"]),
        ("-3,conflict,,n,15\r\n", ["line 2: row_id '-3' is not an integer"]),
        ("5,c,,n,15\r\n5,c,,n,16\r\n", ["line 3: row_id 5 appears again (first on line 2)"]),
        ("5,c,,n,\r\n", ["line 2: decision is empty (a tenant id, orphan, or skip to leave the row open)"]),
        (
            "5,c,,n,=1+1\r\n",
            ["line 2: decision '=1+1' looks like a spreadsheet formula; write a tenant id, orphan or skip"],
        ),
        (
            "5,c,,n,@SUM(A1)\r\n",
            ["line 2: decision '@SUM(A1)' looks like a spreadsheet formula; write a tenant id, orphan or skip"],
        ),
        (
            "5,c,,n,'15\r\n",
            ['line 2: decision "\'15" looks like a spreadsheet formula; write a tenant id, orphan or skip'],
        ),
        ("5,c,,n,delete\r\n", ["line 2: decision 'delete' is not a tenant id, orphan or skip"]),
        ("5,c,n,15\r\n", ["line 2: has 4 cells, the header has 5"]),
        (
            "a,c,,n,x\r\n6,c,,n,7\r\n",
            ["line 2: row_id 'a' is not an integer", "line 2: decision 'x' is not a tenant id, orphan or skip"],
        ),
    ],
)
def test_each_bad_row_is_named_by_line(body, expected):
    assert problems((HEADER + body).encode()) == expected


def test_header_problems():
    assert problems(b"id,decision\n1,2\n") == ["line 1: the header lacks row_id (got id, decision)"]
    assert problems(b"row_id,decision,decision\n1,2,3\n") == ["line 1: the header repeats decision"]
    assert problems(b"") == ["line 1: the file is empty (expected a header with row_id and decision)"]
    assert problems(b"row_id,decision\n") == ["the file holds no decisions"]


def test_invalid_utf8_names_the_line():
    assert problems(b"row_id,decision\n1,2\n3,\xff\n") == ["line 3: not valid UTF-8 (byte 22); save the file as UTF-8"]


def test_a_60_mb_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TENANT_REVIEW_DIR", str(tmp_path))
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.write(b"row_id,decision\n")
        handle.truncate(60 * 1024 * 1024)
    with pytest.raises(ReviewFileError) as failure:
        resolve_review_path("big.csv")
    assert failure.value.problems == [f"the file is {60 * 1024 * 1024} bytes; the limit is {MAX_BYTES} (50 MB)"]
    assert problems(b"x" * (MAX_BYTES + 1))[0].startswith(f"the file is {MAX_BYTES + 1} bytes")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_either_parse_or_raise_a_review_file_error(data):
    try:
        decisions = parse_review_csv(data)
    except ReviewFileError as exc:
        assert exc.problems
    else:
        assert decisions and all(d.kind in {"tenant", "orphan", "skip"} for d in decisions)
        assert len({d.row_id for d in decisions}) == len(decisions)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10**12), st.one_of(st.integers(0, 10**9).map(str), st.sampled_from(["orphan", "skip"]))
        ),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t[0],
    )
)
def test_well_formed_files_round_trip(rows):
    text = "row_id,decision\r\n" + "".join(f"{row_id},{decision}\r\n" for row_id, decision in rows)
    parsed = parse_review_csv(text.encode())
    assert [(d.row_id, str(d.tenant) if d.kind == "tenant" else d.kind) for d in parsed] == rows
