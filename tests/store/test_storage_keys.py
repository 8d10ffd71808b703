"""tenant_integrity.store.storage: one base, keys of plain names only, the local folders of before by default."""

from __future__ import annotations

import pytest

from tenant_integrity.store import storage


@pytest.fixture
def local_base(tmp_path, monkeypatch):
    monkeypatch.delenv("TENANT_STORAGE_URL", raising=False)
    monkeypatch.setenv("TENANT_REVIEW_DIR", str(tmp_path / "review"))
    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(tmp_path / "docs"))
    return tmp_path


def test_without_a_storage_url_the_base_is_the_review_folder_and_the_data_docs_folder(local_base):
    assert storage.base().protocol == "file" and storage.base().path == str(local_base / "review")
    assert storage.data_docs_base().path == str(local_base / "docs")
    folder = storage.run_path("customers_company", "manual__2026-11-22T06:03:13.959479+00:00")
    assert storage.display(folder) == str(
        local_base / "review/customers_company/manual__2026-11-22T06:03:13.959479+00:00"
    )
    assert storage.display(storage.run_path("customers_company", "../../etc")) == str(
        local_base / "review/customers_company/_.._etc"
    )


def test_a_storage_url_is_the_one_base_of_runs_and_data_docs(monkeypatch):
    monkeypatch.setenv("TENANT_STORAGE_URL", "s3://bucket/tenant-integrity/")
    monkeypatch.delenv("TENANT_STORAGE_CONN_ID", raising=False)
    assert storage.display(storage.run_path("customers_company", "b1")) == (
        "s3://bucket/tenant-integrity/customers_company/b1"
    )
    assert storage.display(storage.data_docs_base()) == "s3://bucket/tenant-integrity/data-docs"
    assert storage.data_docs_key("s3://bucket/tenant-integrity/data-docs/x/index.html") == "x/index.html"
    for elsewhere in ("s3://bucket/other/x.html", "s3://other/tenant-integrity/data-docs/x.html", "file:///x.html"):
        assert storage.data_docs_key(elsewhere) is None, elsewhere
    assert storage.data_docs_key("s3://bucket/tenant-integrity/data-docs/../x.html") is None


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "..", "a/../b", "a/..", "a//b", "a/", "./a", "a\\b", "a\x00b", "a\nb"]
)
def test_keys_are_plain_names_only(local_base, key):
    with pytest.raises(storage.UnsafeKey):
        storage.child(storage.base(), key)


def test_a_person_given_path_stays_inside_the_base(local_base, monkeypatch):
    root = storage.base()
    (local_base / "review" / "x").mkdir(parents=True)
    (local_base / "outside.csv").write_text("row_id,decision\n")
    (local_base / "review" / "x" / "link.csv").symlink_to(local_base / "outside.csv")
    # on the local filesystem as before: links and .. resolved, then inside the review folder
    assert storage.locate("x/../x/r.csv", root).path == str(local_base / "review/x/r.csv")
    assert storage.locate(str(local_base / "review/x/r.csv"), root).path == str(local_base / "review/x/r.csv")
    for value in ("../outside.csv", str(local_base / "outside.csv"), "x/link.csv", "s3://bucket/x.csv"):
        with pytest.raises(storage.UnsafeKey):
            storage.locate(value, root)
    # in an object store: a key of plain names, or the URL of an object under the base
    monkeypatch.setenv("TENANT_STORAGE_URL", "s3://bucket/prefix")
    root = storage.base()
    assert storage.display(storage.locate("x/r.csv", root)) == "s3://bucket/prefix/x/r.csv"
    assert storage.display(storage.locate("s3://bucket/prefix/x/r.csv", root)) == "s3://bucket/prefix/x/r.csv"
    for value in ("x/../r.csv", "/x/r.csv", "s3://bucket/prefixed/r.csv", "s3://bucket/r.csv", "gs://bucket/prefix/r"):
        with pytest.raises(storage.UnsafeKey):
            storage.locate(value, root)


def test_files_written_locally_keep_their_modes_and_read_back(local_base):
    import os
    import stat

    folder = storage.run_path("customers_company", "r1")
    csv_file = storage.write_text(storage.child(folder, "review.csv"), "a,b\r\n", private=True)
    storage.write_bytes(storage.child(folder, "chunks", "x.json"), b"{}")
    assert storage.read_text(csv_file) == "a,b\r\n"
    assert stat.S_IMODE(os.stat(csv_file.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder.path).st_mode) == 0o700
    assert storage.files_in(folder) == ["review.csv"] and storage.files_in(storage.child(folder, "nope")) == []
