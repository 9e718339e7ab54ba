"""Group requests (แบบกลุ่ม): the filing form, the group's page and its memo.

The form keeps everything in itself (no draft is stored): the officers chosen so far, found by
the search inside the filer's unit or command, what they ask for, and the memo's fields. "Check"
judges every officer's line and shows each one's problems at that line; "Print the memo to sign"
prints the memo as it would be filed; "File" sends every line in one transaction. Who may file
and for whom is app.services.group_requests'; the views only read the form and show the answer.
"""
from flask import Response, abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app import labels
from app.date_input import reads_buddhist_era
from app.documents import document_secret, public_url
from app.domain.pledge import ATTESTATION, PLEDGE, in_language
from app.errors import SitthiError, translate
from app.extensions import db
from app.formatting import current_language, local_today, office_clock
from app.input_guard import form_ids
from app.models import DataSource, Officer, RankGroup, SystemFunction
from app.read_trail import note_read
from app.security.unit_heads import is_certifying_head
from app.services import access_requests, eligibility
from app.services import group_requests as service
from app.services.attachments import FilesRefused, display_name
from app.views import loads
from app.views.request_desk import (
    UPLOAD_KINDS,
    _justification_form,
    _memo_emblem,
    _office_day,
    _source_choice,
    _uploads,
)
from app.views.scoping import current_actor


class GroupForm(FlaskForm):
    contact_email = StringField(_l("Coordinator's e-mail"), [Optional(), Length(max=254)])
    contact_mobile = StringField(_l("Coordinator's mobile phone"), [Optional(), Length(max=20)])
    duty_performed = TextAreaField(_l("Duty the officers actually perform"), [Optional(), Length(max=2000)])
    pledge_accepted = BooleanField(_l("I accept the pledge for these officers"))
    attest = BooleanField(_l("I certify these officers (as their unit head)"))
    q = StringField(_l("Find an officer"), [Optional(), Length(max=100)])


def _group_data(kind: str, form: GroupForm) -> service.GroupData:
    return service.GroupData(
        kind=kind,
        officer_ids=form_ids("officer"),
        contact_email=form.contact_email.data or "",
        contact_mobile=form.contact_mobile.data or "",
        duty_performed=form.duty_performed.data or "",
        pledge_accepted=bool(form.pledge_accepted.data),
        attest=bool(form.attest.data),
        # Each source's data fields and justification answers, read as the single form reads them.
        sources=tuple(_source_choice(source_id) for source_id in form_ids("source")),
        function_ids=form_ids("function"),
        dates_in_buddhist_era=reads_buddhist_era(),
    )


class GroupRequestView(BaseView):
    route_base = "/grouprequests"
    default_view = "index"
    class_permission_name = "GroupRequest"
    method_permission_name = {"index": "read", "show": "read", "memo": "read", "form": "write"}

    @expose("/")
    @has_access
    def index(self):
        actor = current_actor()
        rows = service.groups_of(db.session, actor)
        return self.render_template("sitthi/group_list.html", rows=rows,
                                    may_file=service.may_file(db.session, actor),
                                    kinds={k: labels.label_of(labels.REQUEST_KIND, k) for k in service.GROUP_KINDS})

    @expose("/new/<kind>", methods=["GET", "POST"])
    @has_access
    def form(self, kind: str):
        if kind not in service.GROUP_KINDS:
            abort(404)
        actor = current_actor()
        if not service.may_file(db.session, actor):
            flash(gettext(service.MSG_NOT_FILER), "warning")
            return redirect(url_for(".index"))
        form = GroupForm()
        filer = db.session.get(Officer, actor.officer_id)
        if request.method == "GET":
            form.contact_email.data = filer.email or g.user.email
            form.contact_mobile.data = filer.mobile
            return self._render_form(form, kind, None, {})
        if not form.validate_on_submit():
            return self._render_form(form, kind, None, {}), 400
        data = _group_data(kind, form)
        if "find" in request.form or "check" not in request.form and "file" not in request.form \
                and "print_draft" not in request.form:
            return self._render_form(form, kind, None, {})
        sending = "file" in request.form
        try:
            outcome = service.file_group(
                db.session, actor, data, office_clock(), uploads=_uploads() if sending else (),
                max_upload_bytes=current_app.config["ATTACHMENT_MAX_BYTES"], send=sending)
        except service.GroupRefused as refused:
            db.session.rollback()
            return self._render_form(form, kind, refused.outcome, refused.translated_by_field()), 400
        except FilesRefused as refused:
            db.session.rollback()
            return self._render_form(form, kind, None, refused.translated_by_field()), 400
        except SitthiError as error:
            db.session.rollback()
            return self._render_form(form, kind, None,
                                     {getattr(error, "field", None) or "_form": error.translated()}), 400
        if not sending:
            if "print_draft" in request.form:
                pdf = self._memo_pdf(outcome.group, outcome.group.lines, draft=True)
                db.session.rollback()  # a draft prints what would be filed; nothing is kept
                return Response(pdf, mimetype="application/pdf",
                                headers={"Content-Disposition": 'inline; filename="group-memo-draft.pdf"'})
            # Judged only: shown, then forgotten.
            shown = self._render_form(form, kind, outcome, {name: " ".join(
                translate(m, p) for m, p in reasons) for name, reasons in outcome.problems.items()})
            db.session.rollback()
            return shown
        db.session.commit()
        flash(gettext("Group request %(number)s filed: %(count)s officers, each line sent on its own.",
                      number=outcome.group.number, count=len(outcome.lines)), "success")
        return redirect(url_for(".show", pk=outcome.group.id))

    def _render_form(self, form, kind, outcome, errors):
        actor = current_actor()
        chosen_ids = list(dict.fromkeys(form_ids("officer"))) if request.method == "POST" else []
        reach = service.reach(db.session, actor)
        chosen = {o.id: o for o in db.session.scalars(
            select(Officer).where(Officer.id.in_(chosen_ids), reach))} if chosen_ids and reach is not None else {}
        lines = {line.officer.id: line for line in outcome.lines} if outcome else {}
        found = []
        if request.method == "POST" and (form.q.data or "").strip():
            found = [o for o in service.find_officers(db.session, actor, form.q.data) if o.id not in chosen]
        sources = db.session.scalars(select(DataSource).order_by(DataSource.id)).all()
        agreed = eligibility.agreed_agency_ids(db.session, local_today())
        chosen_sources = set(form_ids("source")) if request.method == "POST" else set()
        chosen_functions = set(form_ids("function")) if request.method == "POST" else set()
        unsaved = {}
        if request.method == "POST":
            for kind_code in UPLOAD_KINDS:
                names = [display_name(f.filename) for f in request.files.getlist(f"upload_{kind_code}")
                         if f and f.filename]
                if names:
                    unsaved[f"upload_{kind_code}"] = names
        return self.render_template(
            "sitthi/group_form.html", form=form, kind=kind, kind_label=labels.label_of(labels.REQUEST_KIND, kind),
            chosen=[chosen[i] for i in chosen_ids if i in chosen], lines=lines, found=found,
            searched=bool((form.q.data or "").strip()) and request.method == "POST",
            errors=errors, judged=outcome is not None,
            sources=sources, not_requestable={s.id: eligibility.source_requestable(s, agreed) for s in sources},
            groups=db.session.scalars(select(RankGroup).order_by(RankGroup.number)).all(),
            functions=db.session.scalars(select(SystemFunction).where(SystemFunction.is_active.is_(True))
                                         .order_by(SystemFunction.id)).all(),
            chosen_sources=chosen_sources, chosen_functions=chosen_functions,
            chosen_groups={s.id: request.form.get(f"rank_group_{s.id}", "") for s in sources},
            shows_sources=kind in access_requests.SEARCH_KINDS, shows_functions=kind not in access_requests.SEARCH_KINDS,
            upload_kinds=UPLOAD_KINDS, attachment_kinds=labels.ATTACHMENT_KIND, unsaved_files=unsaved,
            required_documents=eligibility.required_documents(db.session).get(kind, []),
            max_mb=current_app.config["ATTACHMENT_MAX_BYTES"] // 1048576, limit=service.MAX_OFFICERS,
            pledge_text=in_language(PLEDGE, current_language()),
            attestation_text=in_language(ATTESTATION, current_language()),
            heads_a_unit=is_certifying_head(db.session, actor.officer_id),
            **_justification_form(sources, None),
        )

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk: int):
        actor = current_actor()
        try:
            group = service.load_group(db.session, actor, pk)
        except SitthiError:
            abort(404)
        lines = service.visible_lines(db.session, actor, group, loads.GROUP_LINES)
        note_read(actor, "read", officer_ids=[line.requester_id for line in lines], obj=group,
                  summary=f"group {group.number}")
        return self.render_template("sitthi/group_show.html", group=group, lines=lines,
                                    tally=service.tally(lines), kind_label=labels.label_of(labels.REQUEST_KIND, group.kind))

    @expose("/memo/<int:pk>")
    @has_access
    def memo(self, pk: int):
        actor = current_actor()
        try:
            group = service.load_group(db.session, actor, pk)
        except SitthiError:
            abort(404)
        lines = service.visible_lines(db.session, actor, group, loads.GROUP_LINES)
        pdf = self._memo_pdf(group, lines)
        note_read(actor, "print", officer_ids=[line.requester_id for line in lines], obj=group,
                  summary=f"memo {group.number}")
        name = f"group-memo-{group.number.replace('/', '-')}.pdf"
        return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})

    def _memo_pdf(self, group, lines, draft: bool = False) -> bytes:
        from app.services.memo import Certification, Verification, render_group_memo
        from app.services.verification import group_code

        certifications = {}
        for line in lines:
            certified = access_requests.head_certification(db.session, line) if line.id else None
            if certified is not None and line.certifying_head_id not in certifications:
                signer = db.session.scalar(select(Officer).where(Officer.user_id == certified.actor_id))
                certifications[line.certifying_head_id] = Certification(
                    head=str(signer or certified.actor), on=_office_day(certified.decided_at))
        verification = None
        if not draft:
            code = group_code(document_secret(), group.id)
            verification = Verification(code=code, url=public_url(url_for("VerifyView.check", code=code)))
        dated = local_today() if draft else _office_day(group.submitted_at)
        return render_group_memo(group, lines, dated, certifications=certifications,
                                 emblem=_memo_emblem(), verification=verification, draft=draft)
