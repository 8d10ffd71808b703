"""Every mail carries a text/plain part a person can read without an HTML viewer (issue 27: `less` on an .eml
file showed base64 HTML)."""

from __future__ import annotations

from tenant_integrity.monitoring import mail

LINK = "https://airflow.example.org/dags/tenant_review_import/runs/manual__1"


def test_the_failure_mail_as_text():
    failed = mail.TaskFailure("import_decisions", error="AirflowFailException: line 3: tenant 7 <unknown>\n  line 5: x")
    _, html = mail.failure_mail(
        "tenant_review_import",
        "manual__1",
        {"spec": "customers_company", "dry_run": False},
        [failed],
        ["verdict"],
        LINK,
    )
    assert mail.plain_text(html) == (
        "tenant_review_import failed\n"
        "\n"
        "DAG: tenant_review_import\n"
        "Spec: customers_company\n"
        "Run: manual__1\n"
        "Dry run: no\n"
        "\n"
        "Failed task(s):\n"
        "\n"
        "- import_decisions\n"
        "\n"
        "AirflowFailException: line 3: tenant 7 <unknown>\n"
        "  line 5: x\n"
        "\n"
        "Not run (an upstream task failed): verdict\n"
        "\n"
        f"The run and its task logs: {LINK}\n"
        "\n"
        "What to do: README.md, section 'On-call'.\n"
    )


def test_a_link_keeps_its_address_beside_its_text():
    assert mail.plain_text('<p>See <a href="https://x.example/r/1">the run</a>.</p>') == (
        "See the run <https://x.example/r/1>.\n"
    )
