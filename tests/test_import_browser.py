"""In a real browser: `personnel` uploads a POLIS export with some bad rows, watches the run's
progress (the import runs in a background thread, as under `make run`) and downloads the error report."""
import os

import pytest

from tests.factories import new_national_id
from tests.import_files import csv_bytes, person
from tests.test_browser import CHROMIUM, chromium, live_server, log_in, no_csp_refusals, page  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")]


def test_personnel_uploads_watches_progress_and_downloads_the_error_report(page, live_server, app,  # noqa: F811
                                                                           tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)  # a background thread, as under `make run`
    rows = [person("KKN-MUEANG", new_national_id(), first_name=f"นำเข้า{i}") for i in range(2000)]
    rows[10][0] = "1234567890123"                      # a bad national ID
    rows[20][1] = "ยศแปลก"                              # an unknown rank
    rows[30][9] = "MPD1"                               # another command's unit
    rows[40][1] = "ร.ต.อ.หญิง"                           # a variant, imported
    path = tmp_path / "polis-ขอนแก่น.csv"
    path.write_bytes(csv_bytes(rows, encoding="cp874"))

    log_in(page, live_server, "personnel")
    page.click("text=กำลังพล")
    page.click("a:has-text('การนำเข้าข้อมูล')")
    page.click("#import-new")
    page.select_option("#import-kind", "import_personnel")
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    page.wait_for_url("**/imports/run/*")
    # The page follows the run and shows the result once it is done.
    page.wait_for_selector("#import-state:has-text('ดำเนินการแล้ว')", timeout=60000)
    assert page.inner_text("#import-created") == "1997"
    assert page.inner_text("#import-rejected") == "3"
    table = page.inner_text("#import-rejects")
    assert "1234567890123" in table and "ไม่รู้จักยศ: ยศแปลก" in table and "อยู่นอกกองบังคับการของท่าน" in table
    with page.expect_download() as info:
        page.click("#rejects-csv")
    report = (tmp_path / "rejects.csv")
    info.value.save_as(report)
    lines = report.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("บรรทัด,") and len(lines) == 4
    assert lines[1].startswith("12,1234567890123,")
