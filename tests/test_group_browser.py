"""A real Chromium: the head of สภ.เมืองขอนแก่น files a group request for two of their officers,
Central IT approves one line and rejects the other, and the group's page shows the mixed result."""
from sqlalchemy import select

from tests.test_browser import (  # noqa: F401  (fixtures and marks)
    _fixture_files,
    chromium,
    live_server,
    log_in,
    no_csp_refusals,
    pytestmark,
)


def _officers_of_the_head(app) -> list[tuple[int, str]]:
    """Two new investigators of the demo head's station, each with a name no one else has."""
    from app.extensions import db
    from app.models import DutyLine, Officer, User
    from tests.factories import make_officer

    with app.app_context():
        head = db.session.scalar(select(Officer).join(User, Officer.user_id == User.id).where(User.username == "head"))
        investigation = db.session.scalar(select(DutyLine).where(DutyLine.code == "investigation"))
        made = [make_officer(db.session, head.home_unit, duty_line=investigation, first_name_th=name)
                for name in ("กลุ่มหนึ่งเบราว์เซอร์", "กลุ่มสองเบราว์เซอร์")]
        db.session.commit()
        return [(officer.id, officer.first_name_th) for officer in made]


def test_a_head_files_a_group_that_central_it_decides_partly(chromium, live_server, app, tmp_path):  # noqa: F811
    pdf, jpeg = _fixture_files(tmp_path)
    (first_id, first_name), (second_id, second_name) = _officers_of_the_head(app)

    def session_for(username):
        context = chromium.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(15000)
        log_in(page, live_server, username)
        return context, page

    # The head finds both officers of their station, checks every line, attaches and files.
    context, page = session_for("head")
    page.click("text=คำขอของฉัน")
    page.click("a[href='/grouprequests/']")
    page.click("#new-group-external_search")
    page.wait_for_url("**/grouprequests/new/external_search")
    for officer_id, name in ((first_id, first_name), (second_id, second_name)):
        page.fill("#q", name)
        page.click("#group-find")
        page.check(f"#add-officer-{officer_id}")
    page.fill("#duty_performed", "สืบสวนคดียาเสพติดในเขตสถานี")
    page.check("#source-vehicles")
    page.check("#pledge_accepted")
    page.check("#attest")
    page.click("#group-check")
    page.wait_for_selector(f"#officer-line-{second_id}")
    # Both lines pass; what is missing is the group's documents, said at their fields.
    for officer_id in (first_id, second_id):
        assert page.locator(f"#officer-line-{officer_id} .sitthi-line-ok").count() == 1
        assert page.locator(f"#officer-{officer_id}").is_checked()
    assert page.locator("#upload_memo ~ .sitthi-error").count() == 1
    assert page.locator("#source-vehicles").is_checked() and page.locator("#attest").is_checked()
    page.set_input_files("#upload_memo", str(pdf))
    page.set_input_files("#upload_id_card_copy", str(jpeg))
    page.click("#group-file")
    page.wait_for_url("**/grouprequests/show/*")
    group_url = page.url
    lines = page.locator("#group-lines tbody tr")
    assert lines.count() == 2
    assert page.locator('#group-lines tr[data-state="submitted"]').count() == 2
    # Filed by the head who heads them: certified by filing, both lines wait at Central IT.
    assert "ศทก." in page.locator("#group-lines").inner_text()
    line_links = [a.get_attribute("href") for a in page.locator("#group-lines a").all()]
    context.close()

    # Central IT approves the first officer's line and rejects the second's, each alone.
    context, page = session_for("centralit")
    first_link = next(link for link in line_links if first_name in _requester_of(app, link))
    second_link = next(link for link in line_links if link != first_link)
    page.goto(f"{live_server}{first_link}")
    page.locator("tr[id^=item-] select").first.select_option("approve")
    with page.expect_navigation():
        page.click("#btn-approve")
    assert page.locator("#request-state").get_attribute("class").count("label-success") == 1
    assert page.locator("#request-group").get_attribute("href") == group_url.replace(live_server, "")
    page.goto(f"{live_server}{second_link}")
    page.fill("#comment", "ไม่ได้ปฏิบัติงานที่ต้องใช้ข้อมูลยานพาหนะ")
    with page.expect_navigation():
        page.click("#btn-reject")
    assert page.locator("#request-state").get_attribute("class").count("label-danger") == 1
    context.close()

    # The group's page shows the mixed result, each line with its own state.
    context, page = session_for("head")
    page.goto(group_url)
    assert page.locator('#group-tally [data-tally="completed"]').count() == 1
    assert page.locator('#group-tally [data-tally="rejected"]').count() == 1
    assert page.locator('#group-lines tr[data-state="completed"]').inner_text().count(first_name) == 1
    assert second_name in page.locator('#group-lines tr[data-state="rejected"]').inner_text()
    with page.expect_popup() as popup:
        page.click("#group-memo")
    assert popup.value is not None
    context.close()


def _requester_of(app, link: str) -> str:
    from app.extensions import db
    from app.models import AccessRequest

    with app.app_context():
        return db.session.get(AccessRequest, int(link.rsplit("/", 1)[1])).requester.first_name_th
