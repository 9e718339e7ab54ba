"""Form validators that reuse the domain rules, so a form and the model refuse the same input."""
from flask import current_app
from wtforms.validators import ValidationError

from app.domain import national_id
from app.errors import ValidationFailed, translate
from app.services.attachments import check_upload
from app.services.chasing import StageRules, stage_rule_problems


class NationalId:
    def __call__(self, form, field) -> None:
        try:
            field.data = national_id.validate(field.data)
        except ValidationFailed as error:
            raise ValidationError(error.translated()) from error


class AcceptedDocument:
    """A real PDF or JPEG under the size limit, judged by its bytes before anything is saved."""

    def __call__(self, form, field) -> None:
        upload = field.data
        if not upload:
            return
        content = upload.read()
        upload.seek(0)
        try:
            check_upload(upload.filename, content, current_app.config["ATTACHMENT_MAX_BYTES"])
        except ValidationFailed as error:
            raise ValidationError(error.translated()) from error


class StageRule:
    """One field of an approval stage's chasing rules, judged with the others by the one rule
    (app.services.chasing.stage_rule_problems): each problem shows at its own field."""

    def __init__(self, field_name: str):
        self.field_name = field_name

    def __call__(self, form, field) -> None:
        def value(name):
            return form[name].data if name in form else None

        user = value("escalate_to_user")
        rules = StageRules(
            actor=value("actor"), remind_after_days=value("remind_after_days"),
            escalate_after_days=value("escalate_after_days"), escalate_to=value("escalate_to") or None,
            escalate_to_user_active=None if user is None else bool(user.active),
            escalate_to_role=value("escalate_to_role") or None, return_after_days=value("return_after_days"),
            return_reason=value("return_reason"))
        problem = stage_rule_problems(rules).get(self.field_name)
        if problem is not None:
            message, params = problem
            raise ValidationError(translate(message, params))
