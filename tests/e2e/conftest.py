"""Fixtures the browser tests share: one Debian chromium per test module (never a downloaded browser)."""

from __future__ import annotations

import pytest

from tests.helpers.airflow_server import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
