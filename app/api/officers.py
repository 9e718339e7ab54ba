"""Officers' records through the API: read them in your scope; Personnel (and Admin) add and change them."""
from marshmallow import ValidationError, validate
from sqlalchemy import exists, select

from app.api.base import api_actor, json_body
from app.api.scoped import WritableApi, datamodel, unit_columns
from app.datamodel import MSG_OUT_OF_SCOPE
from app.domain import national_id
from app.errors import NotAllowed, ValidationFailed
from app.extensions import db
from app.formatting import office_clock
from app.models import Officer, Unit
from app.models.officer import OFFICER_STATUSES
from app.read_trail import note_read
from app.security.scope import Actor, command_units, is_nationwide
from app.services import personnel_rules


def _valid_national_id(value: str) -> None:
    """The model's own rule, answered as a field error so every bad field is listed at once."""
    try:
        national_id.validate(value)
    except ValidationFailed as error:
        raise ValidationError(error.translated()) from error


OFFICER_FIELDS = [
    "national_id", "rank", "first_name_th", "last_name_th", "first_name_en", "last_name_en",
    "birth_date", "position_title", "position_number", "position_level", "duty_line", "status",
    "home_unit", "acting_unit", "acting_until", "email", "mobile",
]
PLACEMENT = ("home_unit", "acting_unit")  # where an officer works decides whose command holds them


class OfficersApi(WritableApi):
    """Officers' records: read them in your scope; Personnel (and Admin) add and change them.

    Lists show the national ID masked, as the screens do; one officer's record shows it whole. The
    only filter on it is ``opr:nid`` with all 13 digits (app.services.officer_search): no prefix,
    no "contains". A record added or changed must lie in the writer's command: its home unit, and
    its acting unit when one is set or changed, must be units of that command. Nothing is deleted:
    an officer leaves by a status (retired, transferred out), and deleting the record would orphan
    the requests, grants and audit events that name them.
    """

    resource_name = "officers"
    class_permission_name = "Officer"
    openapi_spec_tag = "Officers"
    openapi_spec_methods = {
        "post": {"post": {"summary": "Add an officer (Personnel, Admin)", "description": (
            "`home_unit` (and `acting_unit`, if given) must be units of your command; Admin may add "
            "anywhere. Related fields take ids: `rank`, `position_level`, `duty_line`, `home_unit`, "
            "`acting_unit`. A national ID that is not valid is refused at its field, one already on "
            "file with 409. Nothing is saved when anything is refused.")}},
        "put": {"put": {"summary": "Change an officer (Personnel, Admin)", "description": (
            "Fields left out keep their value. A new `home_unit` or `acting_unit` must be a unit of "
            "your command, so a record cannot be moved out of it. Send the `version` you read to be "
            "refused (409) if someone changed the record since.")}},
    }
    datamodel = datamodel(Officer)
    list_columns = [
        "id", "national_id_masked", "rank.id", "rank.abbr_th", "first_name_th", "last_name_th",
        "position_title", "status", *unit_columns("home_unit"), *unit_columns("acting_unit"), "acting_until",
    ]
    list_select_columns = [*list_columns, "national_id"]  # behind national_id_masked: no query per row
    show_columns = [
        "id", "national_id", "national_id_full", "rank.id", "rank.abbr_th", "rank.name_th",
        "first_name_th", "last_name_th", "first_name_en", "last_name_en", "birth_date",
        "position_title", "position_number", "position_level.id", "position_level.name_th",
        "duty_line.id", "duty_line.name_th", "status", *unit_columns("home_unit"), *unit_columns("acting_unit"),
        "acting_until", "email", "mobile", "version", "updated_at",
    ]
    add_columns = edit_columns = OFFICER_FIELDS
    search_columns = [
        "national_id", "first_name_th", "last_name_th", "rank", "status", "home_unit",
        "acting_unit", "duty_line", "position_number",
    ]
    order_columns = ["id", "first_name_th", "last_name_th", "status", "acting_until"]
    base_order = ("id", "asc")
    validators_columns = {
        "national_id": _valid_national_id,
        "status": validate.OneOf(OFFICER_STATUSES),
    }
    description_columns = {
        "national_id": "13 digits; dashes and spaces are ignored. Checked like the ID card's check digit.",
        "home_unit": "The unit's id (GET /api/v1/units/); it must be a unit of your command.",
        "acting_unit": "The unit of a temporary assignment, if any; a new one must be of your command.",
    }

    def read_input(self) -> dict:
        """The JSON body, with the national ID as people type it (dashes, spaces) reduced to digits."""
        body = json_body()
        if isinstance(body.get("national_id"), str):
            body["national_id"] = national_id.normalize(body["national_id"])
        return body

    def check_write(self, actor: Actor, item: Officer, before: dict | None) -> None:
        """A new officer, or a changed home or acting unit, must be a unit of the writer's command."""
        if is_nationwide(actor):
            return
        within = command_units(db.session, actor)
        for relation in PLACEMENT:
            unit = getattr(item, relation)
            if unit is None or (before is not None and before.get(f"{relation}_id") == unit.id):
                continue
            if within is None or not db.session.scalar(
                select(exists().where(Unit.id == unit.id, Unit.id.in_(within)))
            ):
                raise NotAllowed(MSG_OUT_OF_SCOPE)

    def after_write(self, actor: Actor, item: Officer) -> None:
        # The rights follow the record in the same transaction (marked retired: revoked now).
        personnel_rules.apply(db.session, office_clock(), officer_ids=[item.id], actor_user_id=actor.user_id)

    def get_headless(self, pk, **kwargs):
        """One officer's whole record leaves only once its reading is in the trail."""
        response = super().get_headless(pk, **kwargs)
        if response.status_code == 200:
            note_read(api_actor(), "read", officer_ids=[pk], obj=db.session.get(Officer, pk))
        return response
