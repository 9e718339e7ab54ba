"""A real Chromium: `commandtech` opens the rights audit of ภ.จว.ขอนแก่น, exports it, reviews the
command's rights and revokes the flagged grant, which leaves the audit."""
import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.conftest import TEST_TODAY
from tests.test_browser import chromium, live_server, log_in, no_csp_refusals, pytestmark  # noqa: F401  (fixtures and marks)


def test_command_tech_audits_then_reviews_and_revokes_a_flagged_grant(chromium, live_server, app,  # noqa: F811
                                                                     monkeypatch):
    from app.extensions import db
    from app.models import Grant, ReviewCampaign, ReviewDecision, Unit
    from tests.factories import make_grant, make_officer

    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        officer = make_officer(db.session, station, first_name_th="ทบทวนสิทธิ์")
        grant_id = make_grant(db.session, officer, "company_registry").id
        command_id = db.session.scalar(select(Unit.id).where(Unit.code == "KKN"))
        db.session.commit()

    monkeypatch.setitem(app.config, "JOBS_INLINE", False)  # background threads, as under `make run`
    monkeypatch.setitem(app.config, "JOB_QUEUE_URL", None)
    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server, "commandtech")
    page.goto(f"{live_server}/")
    page.click("#home-rights-audit")
    page.wait_for_url("**/rightsaudit/")
    # The demo command has more users than a page: find the officer as a user would.
    page.fill("#audit-search-q", "ทบทวนสิทธิ์")
    page.click("#audit-search-submit")
    page.wait_for_url("**q=**")
    row = page.locator(f'tr[data-grant="{grant_id}"]')
    assert "ทบทวนสิทธิ์" in page.locator("#audit-table").inner_text()
    assert row.locator('[data-flag="duty_line"]').count() == 1  # no duty line that may search
    page.click('#flag-filter a[data-flag="duty_line"]')
    page.wait_for_url("**flag=duty_line**")
    assert page.input_value("#audit-search-q") == "ทบทวนสิทธิ์"  # the filter keeps the search
    assert page.locator(f'tr[data-grant="{grant_id}"]').count() == 1
    with page.expect_download() as download:
        page.click("#export-xlsx")  # the run's page opens, follows the job and downloads its file
    assert "/exports/run/" in page.url and page.locator("#export-download").count() == 1
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True).active
    assert any("ทบทวนสิทธิ์" in str(cell) for values in sheet.iter_rows(values_only=True) for cell in values)

    page.goto(f"{live_server}/reviewcampaignview/list/")
    page.click("#start-review")
    page.wait_for_url("**/reviewcampaignview/start")
    page.fill("#name", "ทบทวนสิทธิ์ ภ.จว.ขอนแก่น")
    page.fill("#due_on", (TEST_TODAY + timedelta(days=14)).isoformat())
    page.select_option("#recurrence", "yearly")
    page.click("#start-submit")
    page.wait_for_url("**/reviewcampaignview/show/*")
    # The items are listed by a thread while the page waits (it follows the run), then shown.
    page.wait_for_selector("#campaign-to-review")
    assert page.locator("#campaign-preparing").count() == 0
    with app.app_context():
        campaign = db.session.scalar(select(ReviewCampaign).where(ReviewCampaign.unit_id == command_id,
                                                                  ReviewCampaign.state == "open"))
        item_id = db.session.scalar(select(ReviewDecision.id).where(ReviewDecision.campaign_id == campaign.id,
                                                                    ReviewDecision.grant_id == grant_id))
    assert item_id is not None
    assert int(page.locator("#progress-total").inner_text()) >= 1

    page.click("#campaign-to-review")
    page.wait_for_url("**/toreviewview/list/**")
    page.goto(f"{live_server}/toreviewview/decide/{item_id}")
    assert "ทบทวนสิทธิ์" in page.locator("#review-officer").inner_text()
    page.check("#outcome-revoke")
    page.fill("#comment", "ไม่ได้ปฏิบัติงานด้านทะเบียนบริษัทแล้ว")
    page.click("#review-submit")
    page.wait_for_url("**/toreviewview/list/")
    with app.app_context():
        assert db.session.get(Grant, grant_id).state == "active"  # not before the sign-off
    page.click(f"#sign-off-button-{campaign.id}")
    page.wait_for_url("**/toreviewview/list/")
    page.wait_for_selector(".alert-success")

    page.goto(f"{live_server}/grantview/show/{grant_id}")
    with app.test_request_context():
        from flask_babel import force_locale, gettext

        with force_locale("th"):
            revoked = gettext("Revoked")
    assert revoked in page.locator("table").first.inner_text()
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        assert grant.state == "revoked" and grant.reason == "ไม่ได้ปฏิบัติงานด้านทะเบียนบริษัทแล้ว"
    page.goto(f"{live_server}/rightsaudit/?q=ทบทวนสิทธิ์")
    assert page.locator(f'tr[data-grant="{grant_id}"]').count() == 0
    context.close()
