"""In a real browser: `commandtech` exports the command's permissions; the export runs in a
background thread (as under `make run`), the run's page follows it and downloads the file, and
"My exports" lists it for them to download again."""
import os

import pytest

from tests.test_browser import CHROMIUM, chromium, live_server, log_in, no_csp_refusals, page  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")]


def test_commandtech_exports_the_command_s_permissions_and_finds_the_file_again(page, live_server, app,  # noqa: F811
                                                                                 tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)  # a background thread, as under `make run`
    log_in(page, live_server, "commandtech")
    page.goto(f"{live_server}/commandgrantview/list/")
    with page.expect_download(timeout=60000) as info:
        page.click("#export-csv")
    assert "/exports/run/" in page.url
    saved = tmp_path / "permissions.csv"
    info.value.save_as(saved)
    lines = saved.read_bytes().decode("utf-8-sig").splitlines()
    assert len(lines) >= 2 and "เลขประจำตัวประชาชน" in lines[0]
    assert page.inner_text("#export-state") == "ดำเนินการแล้ว"
    assert "watch=1" not in page.url  # a reload of the page does not download the file again

    page.goto(f"{live_server}/exports/")
    assert page.locator("#export-runs tbody tr[data-run]").count() >= 1
    with page.expect_download() as again:
        page.locator("#export-runs tbody tr[data-run] a.btn").first.click()
    assert again.value.suggested_filename == info.value.suggested_filename
    assert again.value.suggested_filename.startswith("command-permissions-")
