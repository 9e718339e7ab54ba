"""The request desk: an officer's request form, and the request page every decider works from.

Views here only read the form, call app.services.access_requests and commit; who may do what
is decided in that service.
"""
from datetime import UTC, date
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app import labels
from app.date_input import EnteredDateField, form_date, reads_buddhist_era
from app.documents import document_secret, public_url
from app.domain.inputs import as_id
from app.domain.pledge import ATTESTATION, PLEDGE, in_language
from app.errors import FieldsRefused, SitthiError, ValidationFailed, translate
from app.extensions import db
from app.formatting import current_language, local_today, localized, office_clock, position_at
from app.input_guard import SaneYear, form_id, form_ids, form_text, form_version
from app.models import (
    AccessRequest,
    Attachment,
    DataSource,
    Decision,
    Officer,
    PositionLevel,
    RankGroup,
    RequestItem,
    SystemFunction,
    Unit,
    User,
)
from app.models.collation import thai
from app.read_trail import note_read
from app.security.rate_limits import search_endpoint
from app.security.scope import command_of, units_under
from app.services import access_requests as service
from app.services import audit, eligibility, linkage, officer_search
from app.services.attachments import FilesRefused, display_name
from app.views import loads
from app.views.fields import AjaxRelationField
from app.views.scoping import current_actor

MSG_CONFLICT = _l("Someone else saved at the same moment. Nothing was saved: reload and try again.")
UPLOAD_KINDS = ("memo", "id_card_copy", "duty_certificate", "other")
COMMENT = _l("Comment")
REFERENCE_LIMIT = RequestItem.__table__.c.agency_reference.type.length


def run(command):
    """Run one service command in one transaction: commit on success, roll back on refusal."""
    try:
        result = command()
        db.session.commit()
        return result
    except SitthiError as error:
        db.session.rollback()
        flash(error.translated(), "danger")
    except IntegrityError:
        db.session.rollback()
        flash(str(MSG_CONFLICT), "danger")
    return None


class RequestForm(FlaskForm):
    contact_email = StringField(_l("Contact e-mail"), [Optional(), Length(max=254)])
    contact_mobile = StringField(_l("Mobile phone"), [Optional(), Length(max=20)])
    duty_performed = TextAreaField(_l("Duty actually performed"), [Optional(), Length(max=2000)])
    duty_mismatch = BooleanField(_l("My actual duty does not match my position number and duty line"))
    # The words of the pledge are the circular's (app.domain.pledge), shown beside the box.
    pledge_accepted = BooleanField(_l("I accept the pledge"))
    # Both searches are the desk's own: heads of the officer's command (or nationwide), any unit.
    certifying_head = AjaxRelationField(_l("Certifying unit head"), [Optional()], model=Officer,
                                        endpoint=("RequestDeskView.heads",), scope_toggle="nationwide")
    nationwide = BooleanField(_l("Search nationwide"))
    target_unit = AjaxRelationField(_l("Unit of the temporary assignment"), [Optional()], model=Unit,
                                    endpoint=("RequestDeskView.units",))
    assignment_until = EnteredDateField(_l("Assignment until"), [Optional(), SaneYear()])


def _int_or_none(value) -> int | None:
    """Only to show back what was ticked; what is saved is read with form_ids."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _source_choice(source_id: int) -> service.SourceChoice:
    """A ticked source with its rank group, and (Linkage Center rules) the fields ticked and the
    answers typed for it. A form that showed the fields sends `fields_shown_<id>`: then no field
    ticked means none, not "whatever the agreement allows"."""
    shown = f"fields_shown_{source_id}" in request.form
    prefix = f"answer_{source_id}_"
    answers = tuple((question_id, value) for key, value in request.form.items()
                    if key.startswith(prefix) and (question_id := as_id(key[len(prefix):])) is not None)
    return service.SourceChoice(source_id, form_id(f"rank_group_{source_id}"),
                                field_ids=form_ids(f"field_{source_id}") if shown else None, answers=answers)


def _request_data(kind: str, form: RequestForm) -> service.RequestData:
    sources = tuple(_source_choice(source_id) for source_id in form_ids("source"))
    return service.RequestData(
        kind=kind,
        contact_email=form.contact_email.data or "",
        contact_mobile=form.contact_mobile.data or "",
        duty_performed=form.duty_performed.data or "",
        duty_mismatch=bool(form.duty_mismatch.data),
        pledge_accepted=bool(form.pledge_accepted.data),
        certifying_head_id=form.certifying_head.data.id if form.certifying_head.data else None,
        target_unit_id=form.target_unit.data.id if form.target_unit.data else None,
        assignment_until=form.assignment_until.data,
        sources=sources,
        function_ids=form_ids("function"),
        dates_in_buddhist_era=reads_buddhist_era(),
    )


def _uploads() -> tuple[service.Upload, ...]:
    uploads = []
    for kind in UPLOAD_KINDS:
        for file in request.files.getlist(f"upload_{kind}"):
            if file and file.filename:
                uploads.append(service.Upload(kind, file.filename, file.read()))
    return tuple(uploads)


def _timeline(req: AccessRequest, decisions: list[Decision]) -> list[dict]:
    """The status timeline: what happened, then the stages still ahead."""
    steps: list[dict] = []
    user_ids = {d.actor_id for d in decisions if d.actor_id} | {
        d.on_behalf_of_id for d in decisions if d.on_behalf_of_id}
    officers = {o.user_id: o for o in db.session.scalars(
        select(Officer).where(Officer.user_id.in_(user_ids)).options(*loads.OFFICER_TEXT))} if user_ids else {}
    for decision in decisions:
        stage_actor = decision.stage.actor if decision.stage else None
        steps.append({
            "done": True,
            "label": labels.transition_label(decision.transition, stage_actor),
            "item": decision.item,
            "state": decision.transition,
            "at": decision.decided_at,
            "who": officers.get(decision.actor_id) or decision.actor or (
                labels.SYSTEM_ACTOR if decision.transition in labels.SYSTEM_TRANSITIONS else None),
            # A deputy's decision: "decided by X for Y", Y the head who was away.
            "for_whom": decision.on_behalf_of_id and (
                officers.get(decision.on_behalf_of_id) or db.session.get(User, decision.on_behalf_of_id)),
            "comment": decision.comment,
            "attested": decision.attested,
        })
    waiting = req.state in ("draft", "submitted", "returned") or (
        req.state == "completed" and req.current_stage is not None)
    if waiting and req.chain is not None:
        position = req.current_stage.position if req.current_stage else 0
        for stage in req.chain.stages:
            if stage.position >= position:
                current = stage.id == req.current_stage_id and req.state != "returned"
                steps.append({"done": False, "label": localized(stage), "current": current,
                              "due": req.due_on if current else None})
    return steps


class RequestDeskView(BaseView):
    route_base = "/requests"
    default_view = "new"
    class_permission_name = "RequestDesk"
    method_permission_name = {
        "new": "write", "form": "write", "edit": "write", "submit": "write", "cancel": "write",
        "decide": "write", "activate": "write", "heads": "write", "units": "write",
        "show": "read", "memo": "read", "file": "read",
    }

    # -- the officer's form ---------------------------------------------------------------------
    @expose("/new")
    @has_access
    def new(self):
        return self.render_template("sitthi/request_kinds.html", kinds=labels.REQUEST_KIND,
                                    descriptions=labels.REQUEST_KIND_HELP)

    @expose("/new/<kind>", methods=["GET", "POST"])
    @has_access
    def form(self, kind: str):
        if kind not in labels.REQUEST_KIND:
            abort(404)
        actor = current_actor()
        officer = db.session.get(Officer, actor.officer_id) if actor.officer_id else None
        if officer is None:
            flash(gettext("Your login is not linked to an officer record, so you cannot make requests."), "danger")
            return redirect(self.appbuilder.get_url_for_index)
        form = RequestForm()
        if request.method == "GET":
            form.contact_email.data = officer.email or g.user.email
            form.contact_mobile.data = officer.mobile
        elif form.validate_on_submit():
            data = _request_data(kind, form)
            saved = self._save(actor, data, None, None)
            if saved is not None:
                return saved
        return self._render_form(form, kind, officer, None)

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk: int):
        actor = current_actor()
        try:
            req = service.load_request(db.session, actor, pk)
        except SitthiError:
            abort(404)
        if req.requester_id != actor.officer_id or req.state not in ("draft", "returned"):
            flash(gettext("Only a draft or a request returned for correction can be edited."), "warning")
            return redirect(url_for(".show", pk=pk))
        form = RequestForm(obj=req)
        if request.method == "POST" and form.validate_on_submit():
            data = _request_data(req.kind, form)
            saved = self._save(actor, data, pk, form_version())
            if saved is not None:
                return saved
        return self._render_form(form, req.kind, req.requester, req)

    def _save(self, actor, data, pk, version):
        """Save the draft; with "Submit", submit it in the same transaction. A submit that would be
        refused saves nothing (no draft the user did not ask for) and shows every reason at once,
        each at its field; the form keeps what was typed."""
        removed = form_ids("remove_attachment")
        submitting = "submit_request" in request.form
        try:
            req = service.save_draft(
                db.session, actor, data, office_clock(), request_id=pk, expected_version=version,
                uploads=_uploads(), remove_attachment_ids=removed,
                max_upload_bytes=current_app.config["ATTACHMENT_MAX_BYTES"],
            )
            if submitting:
                problems = service.submission_problems(db.session, req, local_today())
                if problems:
                    raise service.SubmissionRefused(problems)
                req = service.submit(db.session, actor, req.id, office_clock())
            db.session.commit()
        except SitthiError as error:
            db.session.rollback()
            g.form_errors = _form_errors(error)
            return None
        if not submitting:
            flash(gettext("Draft saved."), "success")
        else:
            flash(gettext("Request %(number)s sent to %(stage)s.", number=req.number,
                          stage=req.current_stage.name_th), "success")
        return redirect(url_for(".show", pk=req.id))

    def _render_form(self, form, kind, officer, req):
        sources = db.session.scalars(select(DataSource).order_by(DataSource.id)).all()
        functions = db.session.scalars(
            select(SystemFunction).where(SystemFunction.is_active.is_(True)).order_by(SystemFunction.id)).all()
        groups = db.session.scalars(select(RankGroup).order_by(RankGroup.number)).all()
        own_group = officer.rank.rank_group if officer.rank else None
        chosen_sources, chosen_groups, chosen_functions = set(), {}, set()
        if request.method == "POST":
            chosen_sources = {_int_or_none(v) for v in request.form.getlist("source")}
            chosen_functions = {_int_or_none(v) for v in request.form.getlist("function")}
            chosen_groups = {s.id: _int_or_none(request.form.get(f"rank_group_{s.id}")) for s in sources}
        elif req is not None:
            for item in req.items:
                if item.data_source_id:
                    chosen_sources.add(item.data_source_id)
                    chosen_groups[item.data_source_id] = item.rank_group_id
                if item.function_id:
                    chosen_functions.add(item.function_id)
        attachments, returned_because = [], None
        if req is not None and req.state == "returned":
            returned_because = db.session.scalar(
                select(Decision.comment).where(Decision.request_id == req.id, Decision.transition == "return")
                .order_by(Decision.decided_at.desc(), Decision.id.desc()).limit(1))
        if req is not None:
            attachments = db.session.scalars(
                select(Attachment).where(Attachment.request_id == req.id).order_by(Attachment.id)).all()
        unsaved, removing = {}, set()
        if request.method == "POST":
            # The form is shown again only when nothing was saved: the files this post carried
            # are named where they were chosen (browsers cannot keep them), and the documents
            # marked for removal stay marked.
            for kind_code in UPLOAD_KINDS:
                field = f"upload_{kind_code}"
                names = [display_name(f.filename) for f in request.files.getlist(field) if f and f.filename]
                if names:
                    unsaved[field] = names
            removing = {_int_or_none(v) for v in request.form.getlist("remove_attachment")}
        status = 400 if g.get("form_errors") or form.errors else 200
        today = local_today()
        agreed = eligibility.agreed_agency_ids(db.session, today)
        return self.render_template(
            "sitthi/request_form.html", form=form, kind=kind, kind_label=labels.label_of(labels.REQUEST_KIND, kind),
            officer=officer, officer_status=labels.label_of(labels.OFFICER_STATUS, officer.status),
            req=req, sources=sources, functions=functions, groups=groups,
            own_group=own_group, chosen_sources=chosen_sources, chosen_groups=chosen_groups,
            chosen_functions=chosen_functions, attachments=attachments,
            errors=g.get("form_errors") or {}, upload_kinds=UPLOAD_KINDS, returned_because=returned_because,
            attachment_kinds=labels.ATTACHMENT_KIND,
            shows_sources=kind in service.SEARCH_KINDS, shows_functions=kind in service.FUNCTION_KINDS,
            max_mb=current_app.config["ATTACHMENT_MAX_BYTES"] // 1048576,
            current_rights=eligibility.live_grants_of(db.session, [officer.id]).get(officer.id, []),
            not_requestable={s.id: eligibility.source_requestable(s, agreed) for s in sources},
            required_documents=eligibility.required_documents(db.session).get(kind, []),
            pledge_text=in_language(PLEDGE, current_language()),
            unsaved_files=unsaved, removing=removing,
            **_justification_form(sources, req),
        ), status

    @expose("/heads")
    @has_access
    @search_endpoint
    def heads(self):
        """Officers who can certify: active, with a login, in a unit-head position; in the
        requester's command unless asked nationwide."""
        actor = current_actor()
        query = select(Officer).where(Officer.status == "active", Officer.user_id.isnot(None),
                                      Officer.position_level_id.in_(
                                          select(PositionLevel.id).where(PositionLevel.is_unit_head.is_(True))))
        if actor.officer_id is not None:
            query = query.where(Officer.id != actor.officer_id)
        if not request.args.get("nationwide") and actor.command_id is not None:
            within = units_under(db.session, actor.command_id)
            query = query.where(or_(Officer.home_unit_id.in_(within), Officer.acting_unit_id.in_(within)))
        term = request.args.get("q")
        query = officer_search.search_officers(query, term)
        rows = db.session.scalars(query.order_by(*officer_search.name_order(term)).limit(20)).all()
        return {"results": [{"id": o.id, "text": f"{o} – {position_at(o.position_title, o.home_unit)}"} for o in rows]}

    @expose("/units")
    @has_access
    @search_endpoint
    def units(self):
        """Active units by name, abbreviation or code: where a temporary assignment may go."""
        term = (request.args.get("q") or "").strip()[:100]
        query = select(Unit).where(Unit.is_active.is_(True)).order_by(thai(Unit.name_th))
        if term:
            query = query.where(or_(Unit.name_th.contains(term), Unit.abbr_th.contains(term),
                                    Unit.code.startswith(term)))
        rows = db.session.scalars(query.limit(20)).all()
        return {"results": [{"id": u.id, "text": f"{u} – {u.name_th}" if u.abbr_th else u.name_th} for u in rows]}

    # -- the request page -------------------------------------------------------------------------
    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk: int):
        return self._request_page(pk)

    def _request_page(self, pk: int, refused: SitthiError | None = None):
        """The request page; after a refused decision, with what was typed and each reason at its
        field (400), so nothing typed is lost to a redirect."""
        actor = current_actor()
        try:
            req = service.load_request(db.session, actor, pk, loads.REQUEST_PAGE)
        except SitthiError:
            abort(404)
        decisions = db.session.scalars(
            select(Decision).where(Decision.request_id == pk).order_by(Decision.decided_at, Decision.id)
            .options(*loads.TIMELINE)).all()
        attachments = db.session.scalars(
            select(Attachment).where(Attachment.request_id == pk).order_by(Attachment.id)).all()
        checks = eligibility.check_request(db.session, req, local_today())
        stage_actions = service.stage_transitions(db.session, actor, req)
        held = eligibility.live_grants_of(db.session, [req.requester_id]).get(req.requester_id, [])
        own_actions = service.requester_transitions(actor, req)
        awaiting_activation = service.activation_items(db.session, actor, req)
        if refused is None:
            note_read(actor, "read", officer_ids=[req.requester_id], obj=req, purpose=audit.handling(req))
        page = self.render_template(
            "sitthi/request_show.html", req=req, decisions=decisions, attachments=attachments,
            checks=checks, timeline=_timeline(req, decisions), stage_actions=stage_actions,
            own_actions=own_actions, awaiting_activation=awaiting_activation,
            item_decides=bool(stage_actions) and req.current_stage.actor == "central_it",
            command=db.session.get(Unit, command_of(db.session, req.unit_id)) if req.unit_id else None,
            today=local_today(),
            deputy_for=req.certifying_head if stage_actions and service.standing_in_for(
                actor, req, req.current_stage) else None,
            current_rights=held,
            attests=bool(stage_actions) and req.current_stage.actor == "certifying_head",
            attestation_text=in_language(ATTESTATION, current_language()),
            typed=request.form if refused is not None else {}, decision_errors=_errors_by_field(refused),
        )
        return page if refused is None else (page, 400)

    @expose("/submit/<int:pk>", methods=["POST"])
    @has_access
    def submit(self, pk: int):
        version = form_version()
        done = run(lambda: service.submit(db.session, current_actor(), pk, office_clock(), expected_version=version))
        if done is not None:
            flash(gettext("Request %(number)s sent to %(stage)s.", number=done.number,
                          stage=done.current_stage.name_th), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/cancel/<int:pk>", methods=["POST"])
    @has_access
    def cancel(self, pk: int):
        version, comment = form_version(), form_text("comment", service.TEXT_LIMIT, COMMENT)
        done = run(lambda: service.cancel(db.session, current_actor(), pk, office_clock(),
                                          expected_version=version, comment=comment))
        if done is not None:
            flash(gettext("Request cancelled."), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/decide/<int:pk>", methods=["POST"])
    @has_access
    def decide(self, pk: int):
        transition = request.form.get("transition", "")
        version, comment = form_version(), form_text("comment", service.TEXT_LIMIT, COMMENT)
        items = []
        for key, value in request.form.items():
            if key.startswith("item_") and value in ("approve", "reject"):
                item_id = as_id(key[5:])
                if item_id:
                    items.append(service.ItemDecision(item_id, value == "approve", form_text(
                        f"item_comment_{item_id}", service.TEXT_LIMIT, COMMENT)))
        try:
            done = service.decide(
                db.session, current_actor(), pk, transition, office_clock(), expected_version=version,
                comment=comment, item_decisions=tuple(items), attest=bool(request.form.get("attest")),
                every_problem=True)
            db.session.commit()
        except (ValidationFailed, service.Ineligible) as refused:
            db.session.rollback()
            return self._request_page(pk, refused)
        except SitthiError as error:  # stale, or no longer this user's to decide: the page as it is now
            db.session.rollback()
            flash(error.translated(), "danger")
            return redirect(url_for(".show", pk=pk))
        flash(gettext("Decision recorded: %(number)s is now %(state)s.", number=done.number,
                      state=labels.label_of(labels.REQUEST_STATE, done.state)), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/activate/<int:item_id>", methods=["POST"])
    @has_access
    def activate(self, item_id: int):
        activated = request.form.get("outcome") == "activated"
        try:
            on = form_date("activated_on")
        except ValidationFailed as refused:
            flash(refused.translated(), "danger")
            pk = as_id(request.form.get("request_id"))
            return redirect(url_for(".show", pk=pk) if pk else self.appbuilder.get_url_for_index)
        version, comment = form_version(), form_text("comment", service.TEXT_LIMIT, COMMENT)
        reference = form_text("agency_reference", REFERENCE_LIMIT, _l("Agency reference"))
        done = run(lambda: service.record_activation(
            db.session, current_actor(), item_id, office_clock(), activated=activated, reference=reference,
            activated_on=on, comment=comment, expected_version=version))
        if done is not None:
            flash(gettext("Activation recorded."), "success")
            return redirect(url_for(".show", pk=done.request_id))
        pk = request.form.get("request_id", type=int)
        return redirect(url_for(".show", pk=pk) if pk else self.appbuilder.get_url_for_index)

    @expose("/file/<int:attachment_id>")
    @has_access
    def file(self, attachment_id: int):
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None:
            abort(404)
        actor = current_actor()
        try:
            req = service.load_request(db.session, actor, attachment.request_id)
        except SitthiError:
            abort(404)
        note_read(actor, "download", officer_ids=[req.requester_id], obj=attachment, unit_id=req.unit_id,
                  summary=f"{req.number or req.id}: {attachment.filename}", purpose=audit.handling(req))
        return Response(
            attachment.content, mimetype=attachment.content_type,
            headers={"Content-Disposition": "attachment; filename*=UTF-8''" + quote(attachment.filename, safe=""),
                     "X-Content-Type-Options": "nosniff"},
        )

    @expose("/memo/<int:pk>")
    @has_access
    def memo(self, pk: int):
        from app.services.memo import Certification, Verification, render_memo
        from app.services.verification import memo_code

        actor = current_actor()
        try:
            req = service.load_request(db.session, actor, pk)
        except SitthiError:
            abort(404)
        certified = service.head_certification(db.session, req)
        certification = None
        if certified is not None:
            signer = db.session.scalar(select(Officer).where(Officer.user_id == certified.actor_id))
            certification = Certification(head=str(signer or certified.actor),
                                          on=_office_day(certified.decided_at))
        # Dated the day it was submitted, however late it is printed (a draft: today).
        dated = _office_day(req.submitted_at) if req.submitted_at else local_today()
        verification = None
        if req.submitted_at is not None:  # a draft is no document yet: nothing to check it against
            code = memo_code(document_secret(), req.id)
            verification = Verification(code=code, url=public_url(url_for("VerifyView.check", code=code)))
        pdf = render_memo(req, dated, certification=certification, emblem=_memo_emblem(),
                          verification=verification)
        note_read(actor, "print", officer_ids=[req.requester_id], obj=req, summary=f"memo {req.number or req.id}",
                  purpose=audit.handling(req))
        name = f"memo-{(req.number or str(req.id)).replace('/', '-')}.pdf"
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})


def _form_errors(error: SitthiError) -> dict[str, str]:
    """A refused save or submit, each reason at the field that can put it right."""
    if isinstance(error, (FilesRefused, service.SubmissionRefused)):
        return error.translated_by_field()
    if isinstance(error, FieldsRefused):
        found: dict[str, list[str]] = {}
        for field, message, params in error.problems:
            found.setdefault(field or "_form", []).append(translate(message, params))
        return {field: " ".join(texts) for field, texts in found.items()}
    return {getattr(error, "field", None) or "_form": error.translated()}


def _justification_form(sources, req) -> dict:
    """What the form shows of the Linkage Center rules per source: its fields (those the
    agreement in force allows can be ticked), its questions, and what was ticked and typed."""
    today = local_today()
    source_ids = [s.id for s in sources]
    chosen_fields: dict[int, set[int | None]] = {}
    answers: dict[str, str] = {}
    if request.method == "POST":
        for source_id in source_ids:
            if f"fields_shown_{source_id}" in request.form:
                chosen_fields[source_id] = {_int_or_none(v) for v in request.form.getlist(f"field_{source_id}")}
        answers = {key: value for key, value in request.form.items() if key.startswith("answer_")}
    elif req is not None:
        for item in req.items:
            if item.data_source_id:
                if item.fields:
                    chosen_fields[item.data_source_id] = {f.id for f in item.fields}
                for answer in item.answers:
                    if answer.question_id:
                        answers[linkage.answer_field(item.data_source_id, answer.question_id)] = answer.value
    return {
        "source_fields": linkage.fields_by_source(db.session, source_ids),
        "allowed_fields": linkage.allowed_field_ids(db.session, today),
        "chosen_fields": chosen_fields,
        "questions": linkage.questions_by_source(db.session, source_ids),
        "answers": answers,
    }


def _errors_by_field(refused: SitthiError | None) -> dict[str, list[str]]:
    """A refused decision's reasons by the field that can put each right ("_form": the whole)."""
    if refused is None:
        return {}
    problems = getattr(refused, "problems", None) or [(getattr(refused, "field", None), None, None)]
    found: dict[str, list[str]] = {}
    for field, message, params in problems:
        text = translate(message, params) if message else refused.translated()
        found.setdefault(field or "_form", []).append(text)
    return found


def _memo_emblem() -> bytes | None:
    """The Garuda artwork (MEMO_EMBLEM: a PNG or JPEG file, the shipped one by default); None when
    it is set to nothing or cannot be read."""
    path = current_app.config.get("MEMO_EMBLEM")
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError:
        current_app.logger.warning("MEMO_EMBLEM %s cannot be read: the memo prints without the emblem", path)
        return None


def _office_day(moment) -> date:
    if moment.tzinfo is None:  # SQLite hands back the UTC moment without its zone
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()

