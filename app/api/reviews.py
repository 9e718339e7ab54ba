"""Rights reviews through the API: campaigns (start, follow) and the reviewer's items (decide, sign off).

The same service as the screens (app.services.reviews): CommandTech start a review of their own
command, Central IT of any; campaigns are read in the reader's row scope; a reviewer decides only
the items the service says they review, and their decisions take effect when they sign off.
"""
from flask import request
from flask_appbuilder.api import expose
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app import job_queue, labels
from app.api.base import (
    FORMAT,
    RefSchema,
    SitthiApi,
    api_actor,
    export_format,
    id_field,
    json_body,
    known_id,
    operation,
    page_args,
    page_of,
    page_schema,
    ref,
    text_field,
    version_field,
)
from app.api.contract import SaneDate, UtcDateTime
from app.api.exports import ExportRunSchema, queue_export, written
from app.errors import NotFound
from app.extensions import db
from app.formatting import localized, office_clock
from app.models import ReviewCampaign, ReviewDecision
from app.models.review import RECURRENCES, UNDECIDED_RULES
from app.security.scope import is_visible, scoped
from app.services import exports, jobs
from app.services import reviews as service
from app.tables import review_results

MSG_NOT_FOUND = service.MSG_CAMPAIGN_NOT_FOUND


class StartSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=service.NAME_LIMIT))
    command_id = id_field(required=True, metadata={"description": "Your own command (Central IT: any command)."})
    due_on = SaneDate(required=True, metadata={"description": "The last day to review: after today."})
    undecided_rule = fields.String(load_default="keep", validate=validate.OneOf(UNDECIDED_RULES), metadata={
        "description": "What happens at the due date to a permission nobody reviewed."})
    recurrence = fields.String(load_default="none", validate=validate.OneOf(RECURRENCES))
    heads_review = fields.Boolean(load_default=False, metadata={
        "description": "Unit heads review the permissions of their officers too."})


class ProgressSchema(Schema):
    total = fields.Integer()
    pending = fields.Integer()
    decided = fields.Integer()
    signed_off = fields.Integer()
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Items per outcome (pending, keep, revoke, fix_data)."})


class CampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    command = fields.Nested(RefSchema)
    starts_on = SaneDate()
    due_on = SaneDate()
    state = fields.String(metadata={"enum": list(labels.CAMPAIGN_STATE)})
    state_label = fields.String()
    undecided_rule = fields.String(metadata={"enum": list(UNDECIDED_RULES)})
    recurrence = fields.String(metadata={"enum": list(RECURRENCES)})
    heads_review = fields.Boolean()
    closed_at = UtcDateTime(allow_none=True)
    error = fields.String(allow_none=True, metadata={
        "description": "Why the review could not be prepared (state failed); otherwise null."})
    progress = fields.Nested(ProgressSchema, allow_none=True, metadata={"description": "One review's page only."})


CampaignPageSchema = page_schema(CampaignSchema, "CampaignPageSchema")


class ReviewDecideSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(service.OUTCOMES))
    comment = text_field(service.TEXT_LIMIT, load_default="", metadata={
        "description": "Required to revoke or to ask for a data correction."})
    version = version_field()


class ReviewItemSchema(Schema):
    id = fields.Integer()
    campaign = fields.Nested(RefSchema)
    grant_id = fields.Integer()
    officer = fields.Nested(RefSchema)
    target = fields.String(metadata={"description": "The function or data source."})
    grant_state = fields.String()
    outcome = fields.String(metadata={"enum": ["pending", *service.OUTCOMES]})
    outcome_label = fields.String()
    comment = fields.String(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    signed_off_at = UtcDateTime(allow_none=True)
    version = fields.Integer()


ReviewItemPageSchema = page_schema(ReviewItemSchema, "ReviewItemPageSchema")


class SignOffSchema(Schema):
    kept = fields.Integer()
    revoked = fields.Integer()
    corrections = fields.Integer(metadata={"description": "Data-change requests opened for Personnel."})
    already_ended = fields.Integer()


def _campaign(campaign: ReviewCampaign, with_progress: bool = False) -> dict:
    progress = service.progress(db.session, campaign.id) if with_progress else None
    return {
        "id": campaign.id, "name": campaign.name, "command": ref(campaign.unit), "starts_on": campaign.starts_on,
        "due_on": campaign.due_on, "state": campaign.state,
        "state_label": labels.label_of(labels.CAMPAIGN_STATE, campaign.state),
        "undecided_rule": campaign.undecided_rule, "recurrence": campaign.recurrence,
        "heads_review": campaign.heads_review, "closed_at": campaign.closed_at,
        "error": service.start_error(db.session, campaign),
        "progress": None if progress is None else {
            "total": progress.total, "pending": progress.pending, "decided": progress.decided,
            "signed_off": progress.signed_off, "outcomes": progress.outcomes},
    }


def _item(item: ReviewDecision) -> dict:
    grant = item.grant
    return {
        "id": item.id, "campaign": {"id": item.campaign.id, "name": item.campaign.name}, "grant_id": grant.id,
        "officer": ref(item.officer, str(item.officer)), "target": localized(grant.function or grant.data_source),
        "grant_state": grant.state, "outcome": item.outcome,
        "outcome_label": labels.label_of(labels.REVIEW_OUTCOME, item.outcome), "comment": item.comment,
        "decided_at": item.decided_at, "signed_off_at": item.signed_off_at, "version": item.version,
    }


class ReviewCampaignsApi(SitthiApi):
    """Rights reviews of commands: read in the row scope; started by CommandTech and Central IT."""

    resource_name = "review-campaigns"
    class_permission_name = "ReviewCampaign"
    openapi_spec_tag = "Rights reviews"
    field_names = {"command": "command_id"}

    @expose("/", methods=["GET"])
    @protect()
    @operation("Rights reviews", paged=True, response=CampaignPageSchema, answer="A page of reviews",
               refusals={400: "Bad paging arguments"}, description="The reviews of the commands I may see, newest first.")
    def campaigns(self):
        query = scoped(db.session, api_actor(), select(ReviewCampaign), ReviewCampaign).order_by(ReviewCampaign.id.desc())
        return self.response(200, **CampaignPageSchema().dump(page_of(query, page_args(), _campaign)))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @operation("A rights review, with its progress", response=CampaignSchema, answer="The review",
               refusals={404: MSG_NOT_FOUND})
    def campaign(self, pk: int):
        return self.response(200, **CampaignSchema().dump(_campaign(self._visible(pk), True)))

    @staticmethod
    def _visible(pk: int) -> ReviewCampaign:
        if not is_visible(db.session, api_actor(), ReviewCampaign, known_id(pk, MSG_NOT_FOUND)):
            raise NotFound(MSG_NOT_FOUND)
        return db.session.get(ReviewCampaign, pk)

    export_files = {"export": "export_file"}

    @expose("/<int:pk>/export", methods=["POST"])
    @protect()
    @operation("Ask for a rights review's results as a file", response=ExportRunSchema, status=202,
               permission="read", query=(FORMAT,), services=[jobs.start_export, exports.render],
               answer="The queued run: poll GET /export-runs/{pk} until `finished`, then download its file",
               refusals={400: "Not a format Sitthi writes", 404: MSG_NOT_FOUND})
    def export(self, pk: int):
        campaign = self._visible(pk)
        return queue_export(self, "export", export_format(), f"{gettext('Rights review')} {campaign.name}")

    def export_file(self, fmt: str, progress) -> jobs.ExportFile:
        """The items, their outcomes and who decided them, as they are when the run is carried out."""
        campaign = self._visible(request.view_args["pk"])
        table = review_results(campaign)
        progress(len(table.rows), len(table.rows))
        return written(table, f"rights-review-{campaign.id}", fmt, what="ReviewCampaign", unit_id=campaign.unit_id)

    @expose("/", methods=["POST"])
    @protect()
    @operation("Start a rights review", body=StartSchema, response=CampaignSchema, status=202,
               answer="The review, being prepared: poll GET /review-campaigns/{pk} until its state is open "
                      "(its items listed) or failed (the reason in `error`)",
               services=[service.start_campaign, service.prepare], refusals={
                   400: "Input refused: not a command, a review of it already open, a due date out of "
                        "range (nothing saved)",
                   403: "Only CommandTech (their own command) and Central IT start reviews"})
    def start(self):
        args = StartSchema().load(json_body())
        spec = service.CampaignSpec(name=args["name"], command_id=args["command_id"], due_on=args["due_on"],
                                    undecided_rule=args["undecided_rule"], recurrence=args["recurrence"],
                                    heads_review=args["heads_review"])
        campaign = service.start_campaign(db.session, api_actor(), spec, office_clock())
        db.session.commit()
        campaign_id = campaign.id
        job_queue.submit(campaign.start_run_id)
        db.session.expire_all()
        return self.response(202, **CampaignSchema().dump(_campaign(db.session.get(ReviewCampaign, campaign_id), True)))


class ToReviewApi(SitthiApi):
    """The reviewer's inbox (To review): decide items, then sign off to make them take effect."""

    resource_name = "reviews"
    class_permission_name = "ToReview"
    openapi_spec_tag = "Rights reviews"

    @expose("/items", methods=["GET"])
    @protect()
    @operation("Items waiting for my review", paged=True, response=ReviewItemPageSchema,
               answer="A page of items", refusals={400: "Bad paging arguments"},
               description="Items of open reviews I review and have not signed off.")
    def items(self):
        condition = service.waiting_for_review(db.session, api_actor())
        query = select(ReviewDecision).where(ReviewDecision.id.is_(None) if condition is None else condition)
        return self.response(200, **ReviewItemPageSchema().dump(
            page_of(query.order_by(ReviewDecision.id), page_args(), _item)))

    @expose("/items/<int:pk>/decide", methods=["POST"])
    @protect()
    @operation("Decide an item", body=ReviewDecideSchema, response=ReviewItemSchema, answer="The item",
               services=[service.decide], refusals={
                   400: "Input refused, the review is closed, or already signed off (nothing saved)",
                   403: "Not an item you review (or your own permission)",
                   404: "No such item, or not one you may see", 409: "The item changed since you read it"},
               description="keep, revoke or fix_data (a comment is needed for the last two); it takes "
                           "effect when you sign off.")
    def decide(self, pk: int):
        args = ReviewDecideSchema().load(json_body())
        item = service.decide(db.session, api_actor(), known_id(pk, service.MSG_NOT_FOUND), args["outcome"],
                              args["comment"], office_clock(), expected_version=args["version"])
        db.session.commit()
        return self.response(200, **ReviewItemSchema().dump(_item(item)))

    @expose("/<int:pk>/sign-off", methods=["POST"])
    @protect()
    @operation("Sign off my decisions in a review", response=SignOffSchema, answer="What the sign-off did",
               services=[service.sign_off], refusals={
                   400: "Nothing to sign off, or the review is closed",
                   404: "No such review among those you review"},
               description="Every decision I took in the review and have not signed off takes effect: "
                           "revocations, data-correction requests to Personnel.")
    def sign_off(self, pk: int):
        done = service.sign_off(db.session, api_actor(), known_id(pk, service.MSG_CAMPAIGN_NOT_FOUND), office_clock())
        db.session.commit()
        return self.response(200, **SignOffSchema().dump(done))
