"""English readers read English names in sentences too: eligibility checks, refusals and rights
audit flags name sources, groups, functions and duty lines in the reader's language (issue 12)."""
import json

from app.domain.named import Named, named
from app.errors import N_, translate


def test_a_named_param_is_its_thai_name_everywhere_but_in_english_sentences(app):
    source = Named("ทะเบียนราษฎร", "Civil registration")
    assert source == "ทะเบียนราษฎร" and json.dumps({"s": source}, ensure_ascii=False) == '{"s": "ทะเบียนราษฎร"}'
    message = N_("%(source)s is not open for requests.")
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        from flask import session
        session["locale"] = "en"
        assert translate(message, {"source": source}) == "Civil registration is not open for requests."
    with app.test_request_context("/"):
        assert translate(message, {"source": source}).startswith("ทะเบียนราษฎร")
    assert named(None) == "-"


def test_the_request_page_speaks_one_language_in_english(app, login):
    """Every check's sentence on the request page names things in English when read in English."""
    import re

    from sqlalchemy import select

    from app.extensions import db
    from app.models import AccessRequest

    with app.app_context():
        pk = db.session.scalar(select(AccessRequest.id).where(AccessRequest.state == "submitted")
                               .order_by(AccessRequest.id))
    centralit = login("centralit")
    centralit.get("/lang/en")
    page = centralit.get(f"/requests/show/{pk}").get_data(as_text=True)
    checks = re.search(r'(?s)id="eligibility-checks".*?</ul>', page) or re.search(r"(?s)Eligibility checks.*?</ul>", page)
    assert checks, "the page shows its checks"
    text = re.sub(r"<[^>]+>", " ", checks.group(0))
    thai = re.findall(r"[\u0e00-\u0e7f][\u0e00-\u0e7f .()]*", text)
    # People's names stay as they are written; nothing else in the sentences is Thai.
    with app.app_context():
        request = db.session.get(AccessRequest, pk)
        people = " ".join(str(o) for o in (request.requester, request.certifying_head) if o is not None)
    leftovers = [t.strip(" .") for t in thai if t.strip(" .") and t.strip(" .") not in people]
    assert not leftovers, leftovers
