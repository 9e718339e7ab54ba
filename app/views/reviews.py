"""Rights reviews on screen: the reviews of a command, their items, and the reviewer's inbox.

`ReviewCampaignView` lists the reviews a user may read (row scope). A review's page shows its rule
and progress (per outcome and per reviewer) and exports the results (CSV/XLSX, audited as a read
of personal data); "Start a rights review" opens one. `ReviewDecisionView` is the read-only list of
every item. `ToReviewView` is the reviewer's inbox: the items of open reviews they decide, one by
one on the item page or in bulk from the list, then sign off.

Views only read forms, call app.services.reviews and commit. Bulk actions pass the ticked ids
only: FAB loads action rows without the list's row scope, the service loads each one again
through it and checks the reviewer.
"""
from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from app import job_queue, labels
from app.datamodel import CappedCountInterface
from app.date_input import EnteredDateField
from app.domain.inputs import TEXT_LIMIT, as_id
from app.errors import NotFound, SitthiError, StaleRecord, translate
from app.extensions import db
from app.formatting import local_today, office_clock
from app.input_guard import SaneYear, form_id, form_ids, form_text, form_version
from app.labels import label_of
from app.models import JobRun, ReviewCampaign, ReviewDecision
from app.security.scope import is_visible
from app.services import jobs, reviews
from app.tables import review_results
from app.views import loads
from app.views.base import PERMISSION_BY_METHOD, InScope, ReadOnlyModelView, code_column, code_field
from app.views.exporting import export_format, queue_export, written
from app.views.grant_admin import target_cell, unit_cell, validity_cell
from app.views.labels import LABELS
from app.views.scoping import current_actor

REVIEW_LABELS = {
    **LABELS,
    "decide": _l("Review"),
    "unit": _l("Unit"),
    "target": _l("Function or data source"),
    "grant_state": _l("Permission state"),
    "validity": _l("Valid until"),
    "flags": _l("Rights-audit flags"),
    "reviewer": _l("Reviewer"),
    "signed_off_at": _l("Signed off"),
    "applied_at": _l("Took effect"),
    "undecided_rule": _l("Items nobody reviewed"),
    "recurrence": _l("Repeats"),
    "heads_review": _l("Unit heads review too"),
    "due_on": _l("Due on"),
}
# The campaigns a search form offers: only those the user may read (FAB would list them all).
SCOPED_CAMPAIGNS = {"campaign": [["id", InScope, None]]}


# -- what each row shows ----------------------------------------------------------------------
class ReviewRows(CappedCountInterface):
    """Review items whose cells are drawn from the whole row; the flags and reviewers' names of a
    page are read once for the page, not once per row."""

    ROW_COLUMNS = ("decide", "unit", "target", "grant_state", "validity", "flags", "reviewer")

    def query(self, *args, **kwargs):
        count, items = super().query(*args, **kwargs)
        if self.obj is not ReviewDecision:  # FAB reuses the class for related lists (the campaign filter)
            return count, items
        g._review_page = {
            "flags": reviews.audit_flags(db.session, [item.grant_id for item in items], local_today()),
            "names": reviews.reviewer_names(db.session, [item.reviewer_id for item in items]),
        }
        return count, items

    def _get_attr_value(self, item, col):
        if col in self.ROW_COLUMNS:
            return item
        return super()._get_attr_value(item, col)


def _page(key: str, item: ReviewDecision, load):
    found = g.get("_review_page", {}).get(key)
    return load() if found is None else found


def flags_cell(item: ReviewDecision) -> Markup:
    flags = _page("flags", item, lambda: reviews.audit_flags(db.session, [item.grant_id], local_today()))
    return render_flags(flags.get(item.grant_id, ()))


def render_flags(flags) -> Markup:
    return Markup(" ").join(Markup('<span class="label label-warning sitthi-flag">{}</span>').format(flag_text(f))
                            for f in flags)


def flag_text(flag) -> str:
    return translate(flag.message, flag.values)


def reviewer_cell(item: ReviewDecision) -> str:
    if item.reviewer_id is None:
        return ""
    names = _page("names", item, lambda: reviews.reviewer_names(db.session, [item.reviewer_id]))
    return names.get(item.reviewer_id, "")


def grant_state_cell(item: ReviewDecision) -> str:
    return label_of(labels.GRANT_STATE, item.grant.state)


def decide_cell(item: ReviewDecision) -> Markup:
    return Markup('<a class="btn btn-xs btn-primary" href="{url}">{text}</a>').format(
        url=url_for("ToReviewView.decide", pk=item.id), text=gettext("Review"))


ROW_FORMATTERS = {
    "outcome": code_column(labels.REVIEW_OUTCOME),
    "target": lambda item: target_cell(item.grant),
    "unit": lambda item: unit_cell(item.grant),
    "validity": lambda item: validity_cell(item.grant),
    "grant_state": grant_state_cell,
    "flags": flags_cell,
    "reviewer": reviewer_cell,
    "decide": decide_cell,
}


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


def _error_status(error: SitthiError) -> int:
    """A refusal by the rules is not a refusal by permission (403): that is FAB's answer alone."""
    if isinstance(error, NotFound):
        return 404
    return 409 if isinstance(error, StaleRecord) else 400


# -- the reviews of a command -------------------------------------------------------------------
class StartForm(FlaskForm):
    name = StringField(_l("Name of the review"), [DataRequired(), Length(max=reviews.NAME_LIMIT)])
    command = SelectField(_l("Command"), choices=[], validate_choice=False)
    due_on = EnteredDateField(_l("Due on (the last day to review)"), [DataRequired(), SaneYear()])
    undecided_rule = SelectField(_l("What happens at the due date to a permission nobody reviewed"),
                                 choices=labels.choices(labels.UNDECIDED_RULE), validate_choice=False)
    recurrence = SelectField(_l("Repeats"), choices=labels.choices(labels.RECURRENCE), validate_choice=False)
    heads_review = BooleanField(_l("Unit heads review the permissions of their officers too"))


class ReviewCampaignView(ReadOnlyModelView):
    entity = _l("Rights review")
    entities = _l("Rights reviews")
    datamodel = CappedCountInterface(ReviewCampaign, db.session)
    class_permission_name = "ReviewCampaign"
    # Write is for starting a review only: reviews are never edited or deleted by hand.
    base_permissions = ["can_read", "can_write"]
    exclude_route_methods = {"download", "action", "action_post", "add", "edit", "delete"}
    method_permission_name = {**PERMISSION_BY_METHOD, "start": "write", "export": "read", "preparing": "read"}
    label_columns = REVIEW_LABELS
    list_columns = ["name", "unit", "starts_on", "due_on", "state", "undecided_rule", "recurrence"]
    order_columns = ["name", "starts_on", "due_on", "state"]
    search_columns = ["name", "state", "starts_on", "due_on"]
    formatters_columns = {"state": code_column(labels.CAMPAIGN_STATE),
                          "undecided_rule": code_column(labels.UNDECIDED_RULE),
                          "recurrence": code_column(labels.RECURRENCE)}
    search_form_extra_fields = {"state": code_field(LABELS["state"], labels.CAMPAIGN_STATE)}
    base_order = ("id", "desc")
    list_template = "sitthi/review_campaign_list.html"

    def render_template(self, template, **kwargs):
        kwargs.setdefault("can_start", self.appbuilder.sm.has_access("can_write", self.class_permission_name)
                          and reviews.may_start(current_actor()))
        return super().render_template(template, **kwargs)

    def _visible(self, pk) -> ReviewCampaign:
        pk = as_id(pk)
        if pk is None or not is_visible(db.session, current_actor(), ReviewCampaign, pk):
            abort(404)
        return db.session.get(ReviewCampaign, pk)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        """The review's page: its rule, its progress per outcome and per reviewer, the results."""
        campaign = self._visible(pk)
        actor = current_actor()
        following = db.session.scalar(select(ReviewCampaign).where(ReviewCampaign.previous_id == campaign.id))
        return self.render_template(
            "sitthi/review_campaign_show.html", campaign=campaign,
            progress=reviews.progress(db.session, campaign.id), outcome_labels=labels.REVIEW_OUTCOME,
            state=label_of(labels.CAMPAIGN_STATE, campaign.state),
            rule=label_of(labels.UNDECIDED_RULE, campaign.undecided_rule),
            recurrence=label_of(labels.RECURRENCE, campaign.recurrence),
            following=following if following and is_visible(db.session, actor, ReviewCampaign, following.id) else None,
            reviews_here=reviews.reviewable(db.session, actor, open_only=True) is not None,
            error=reviews.start_error(db.session, campaign), today=local_today())

    @expose("/show/<pk>/preparing")
    @has_access
    def preparing(self, pk):
        """How far the listing of a review's items has gone (its page polls this while it is preparing)."""
        campaign = self._visible(pk)
        run = db.session.get(JobRun, campaign.start_run_id) if campaign.start_run_id else None
        return jsonify({"state": campaign.state, "state_label": label_of(labels.CAMPAIGN_STATE, campaign.state),
                        "processed": run.processed if run else 0, "total": run.total if run else 0,
                        "finished": campaign.state != "preparing"})

    @expose("/start", methods=["GET", "POST"])
    @has_access
    def start(self):
        actor = current_actor()
        form = StartForm()
        commands = reviews.startable_commands(db.session, actor)
        form.command.choices = [(str(c.id), f"{c} – {c.name_th}" if c.abbr_th else c.name_th) for c in commands]
        error = None
        if request.method == "POST" and form.validate_on_submit():
            spec = reviews.CampaignSpec(
                name=form.name.data, command_id=form.command.data, due_on=form.due_on.data,
                undecided_rule=form.undecided_rule.data, recurrence=form.recurrence.data,
                heads_review=form.heads_review.data)
            try:
                campaign = reviews.start_campaign(db.session, actor, spec, office_clock())
                db.session.commit()
                campaign_id = campaign.id
                job_queue.submit(campaign.start_run_id)
            except SitthiError as refused:
                db.session.rollback()
                field = getattr(refused, "field", None)
                if field in form:
                    form[field].errors = [*form[field].errors, refused.translated()]
                else:
                    error = refused.translated()
            else:
                db.session.expire_all()
                state = db.session.get(ReviewCampaign, campaign_id).state
                if state == "open":
                    flash(gettext("The rights review has started: %(num)s permissions to review.",
                                  num=reviews.progress(db.session, campaign_id).total), "success")
                elif state == "preparing":  # a failed one says why on its page
                    flash(gettext("The rights review is being prepared: its permissions to review are "
                                  "listed in the background, and this page shows them when they are."), "info")
                return redirect(url_for(".show", pk=campaign_id))
        status = 400 if request.method == "POST" else 200
        return self.render_template("sitthi/review_campaign_start.html", form=form, error=error,
                                    may_start=reviews.may_start(actor) and bool(commands),
                                    today=local_today()), status

    export_files = {"export": "export_file"}

    @expose("/export/<pk>", methods=["POST"])
    @has_access
    def export(self, pk):
        """The results, item by item, as CSV or XLSX, written by a job."""
        campaign = self._visible(pk)
        fmt = export_format()
        return queue_export(self, "export", fmt, f"{gettext('Rights review')} {campaign.name}")

    def export_file(self, fmt: str, progress) -> jobs.ExportFile:
        campaign = self._visible(request.view_args["pk"])
        table = review_results(campaign)
        progress(len(table.rows), len(table.rows))
        return written(table, f"rights-review-{campaign.id}", fmt, what="ReviewCampaign", unit_id=campaign.unit_id)


class ReviewDecisionView(ReadOnlyModelView):
    """Every item of the reviews a user may read, with its outcome: the results, for auditors too."""

    entity = _l("Review item")
    entities = _l("Review items")
    datamodel = ReviewRows(ReviewDecision, db.session, loads.REVIEW_LIST)
    class_permission_name = "ReviewDecision"
    # Items are decided from "To review" through the service only.
    exclude_route_methods = {"download", "action", "action_post", "add", "edit", "delete"}
    label_columns = REVIEW_LABELS
    list_columns = ["campaign", "officer", "unit", "target", "grant_state", "flags", "outcome", "comment",
                    "reviewer", "decided_at", "signed_off_at"]
    show_columns = ["campaign", "officer", "unit", "target", "grant_state", "validity", "flags", "outcome",
                    "comment", "reviewer", "decided_at", "signed_off_at", "applied_at"]
    order_columns = ["outcome", "decided_at", "signed_off_at"]
    search_columns = ["campaign", "outcome", "decided_at", "signed_off_at"]
    search_form_query_rel_fields = SCOPED_CAMPAIGNS
    formatters_columns = ROW_FORMATTERS
    search_form_extra_fields = {"outcome": code_field(LABELS["outcome"], labels.REVIEW_OUTCOME)}
    base_order = ("id", "asc")


# -- the reviewer's inbox ------------------------------------------------------------------------
class WaitsForReview(BaseFilter):
    """The items of open reviews that the logged-in user reviews and has not signed off."""

    def apply(self, query, value):
        condition = reviews.waiting_for_review(db.session, current_actor())
        return query.filter(ReviewDecision.id.is_(None) if condition is None else condition)


class ToReviewView(ReadOnlyModelView):
    entity = _l("Review item")
    entities = _l("To review")
    datamodel = ReviewRows(ReviewDecision, db.session, loads.REVIEW_LIST)
    class_permission_name = "ToReview"
    # Write is for deciding and signing off: an inbox never adds, edits or deletes a row.
    base_permissions = ["can_read", "can_write"]
    exclude_route_methods = {"download", "action", "add", "edit", "delete"}
    method_permission_name = {
        **PERMISSION_BY_METHOD, "decide": "write", "sign_off": "write",
        "keep_selected": "write", "revoke_selected": "write", "fix_selected": "write",
    }
    label_columns = REVIEW_LABELS
    list_columns = ["decide", "officer", "unit", "target", "grant_state", "validity", "flags", "outcome",
                    "comment", "campaign"]
    order_columns = ["outcome"]
    search_columns = ["campaign", "outcome"]
    search_form_query_rel_fields = SCOPED_CAMPAIGNS
    formatters_columns = ROW_FORMATTERS
    search_form_extra_fields = {"outcome": code_field(LABELS["outcome"], labels.REVIEW_OUTCOME)}
    base_filters = [["id", WaitsForReview, None]]
    base_order = ("id", "asc")
    list_template = "sitthi/to_review_list.html"

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            actor = current_actor()
            waiting = reviews.waiting_sign_off(db.session, actor)
            campaigns = db.session.scalars(select(ReviewCampaign).where(ReviewCampaign.id.in_(sorted(waiting)))
                                           .order_by(ReviewCampaign.due_on)).all() if waiting else []
            kwargs.update(sign_offs=[(c, waiting[c.id]) for c in campaigns], comment_limit=TEXT_LIMIT)
        return super().render_template(template, **kwargs)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        """An item is read and decided on its review page."""
        return redirect(url_for(".decide", pk=as_id(pk) or 0))

    def _decide_selected(self, outcome: str):
        """Decide each ticked item through the service, one transaction each."""
        actor, clock = current_actor(), office_clock()
        comment = form_text("comment", TEXT_LIMIT, _l("Comment"))
        done, refused = 0, []
        for pk in form_ids("rowid"):
            try:
                reviews.decide(db.session, actor, pk, outcome, comment, clock)
                db.session.commit()
                done += 1
            except SitthiError as error:
                db.session.rollback()
                refused.append(f"#{pk}: {error.translated()}")
        if done:
            flash(gettext("Decided: %(num)s. They take effect when you sign off.", num=done), "success")
        for reason in refused:
            flash(reason, "danger")
        return redirect(request.referrer if _same_site(request.referrer) else self.get_redirect())

    @action("keep_selected", _l("Keep selected"), _l("Keep every selected permission?"), "fa-check",
            single=False)
    def keep_selected(self, _items):
        return self._decide_selected("keep")

    @action("revoke_selected", _l("Revoke selected (with the comment above)"),
            _l("Mark every selected permission to be revoked when you sign off?"), "fa-ban", single=False)
    def revoke_selected(self, _items):
        return self._decide_selected("revoke")

    @action("fix_selected", _l("Fix personnel data of selected (with the comment above)"),
            _l("Ask Personnel to correct the data of every selected officer when you sign off?"),
            "fa-pencil", single=False)
    def fix_selected(self, _items):
        return self._decide_selected("fix_data")

    @expose("/decide/<pk>", methods=["GET", "POST"])
    @has_access
    def decide(self, pk):
        """One item: the permission, the officer, the flags, and the reviewer's decision."""
        actor = current_actor()
        error, refused, field = None, None, None
        try:
            decision = reviews.load_item(db.session, actor, pk)
        except NotFound:
            abort(404)
        except SitthiError as not_theirs:
            # Visible (their own, or no longer theirs to review): shown, not decided.
            decision = db.session.get(ReviewDecision, as_id(pk))
            refused = not_theirs.translated()
        if request.method == "POST" and refused is None:
            version = form_version()
            comment = form_text("comment", TEXT_LIMIT, _l("Comment"))
            try:
                reviews.decide(db.session, actor, decision.id, request.form.get("outcome", ""), comment,
                               office_clock(), expected_version=version)
                db.session.commit()
            except SitthiError as failed:
                db.session.rollback()
                error, field = failed.translated(), getattr(failed, "field", None)
                status = _error_status(failed)
            else:
                flash(gettext("Decision saved. It takes effect when you sign off."), "success")
                return redirect(url_for(".list"))
        elif request.method == "POST":
            error, status = refused, 400
        else:
            status = 200
        flags = reviews.audit_flags(db.session, [decision.grant_id], local_today()).get(decision.grant_id, ())
        names = reviews.reviewer_names(db.session, [decision.reviewer_id])
        return self.render_template(
            "sitthi/review_decide.html", decision=decision, grant=decision.grant, officer=decision.officer,
            campaign=decision.campaign, flags=render_flags(flags), refused=refused, error=error,
            error_field=field, outcomes=[(code, labels.REVIEW_OUTCOME[code]) for code in reviews.OUTCOMES],
            outcome_label=label_of(labels.REVIEW_OUTCOME, decision.outcome),
            grant_state=label_of(labels.GRANT_STATE, decision.grant.state),
            officer_status=label_of(labels.OFFICER_STATUS, decision.officer.status),
            reviewer=names.get(decision.reviewer_id, ""), comment_limit=TEXT_LIMIT,
            chosen=request.form.get("outcome") if request.method == "POST" else decision.outcome,
            typed=request.form.get("comment") if request.method == "POST" else decision.comment or "",
            target=target_cell(decision.grant), validity=validity_cell(decision.grant),
        ), status

    @expose("/sign_off", methods=["POST"])
    @has_access
    def sign_off(self):
        """The reviewer's decisions in one review take effect."""
        try:
            done = reviews.sign_off(db.session, current_actor(), form_id("campaign"), office_clock())
            db.session.commit()
        except SitthiError as error:
            db.session.rollback()
            flash(error.translated(), "danger")
        else:
            flash(gettext("Signed off: %(kept)s kept, %(revoked)s revoked, %(fixes)s data corrections asked "
                          "of Personnel.", kept=done.kept, revoked=done.revoked + done.already_ended,
                          fixes=done.corrections), "success")
        return redirect(url_for(".list"))
