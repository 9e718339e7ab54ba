"""A real Chromium: `commandtech` reviews the rights of ภ.จว.ขอนแก่น and a revocation takes effect."""
from datetime import date, timedelta

from sqlalchemy import select

from tests.test_browser import chromium, live_server, log_in, pytestmark  # noqa: F401  (fixtures and marks)


def test_command_tech_starts_a_review_marks_a_grant_revoke_and_signs_off(chromium, live_server, app):  # noqa: F811
    from app.extensions import db
    from app.models import Grant, ReviewCampaign, ReviewDecision, Unit
    from tests.factories import make_grant, make_officer

    with app.app_context():
        station = db.session.scalar(select(Unit).where(Unit.code == "KKN-MUEANG"))
        officer = make_officer(db.session, station, first_name_th="ทบทวนสิทธิ์")
        grant_id = make_grant(db.session, officer, "company_registry").id
        command_id = db.session.scalar(select(Unit.id).where(Unit.code == "KKN"))
        db.session.commit()

    context = chromium.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15000)
    log_in(page, live_server, "commandtech")
    page.goto(f"{live_server}/reviewcampaignview/list/")
    page.click("#start-review")
    page.wait_for_url("**/reviewcampaignview/start")
    page.fill("#name", "ทบทวนสิทธิ์ ภ.จว.ขอนแก่น")
    page.fill("#due_on", (date.today() + timedelta(days=14)).isoformat())
    page.select_option("#recurrence", "yearly")
    page.click("#start-submit")
    page.wait_for_url("**/reviewcampaignview/show/*")
    assert page.locator(".alert-success").count() == 1
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
    context.close()
