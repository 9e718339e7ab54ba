"""Form validators that reuse the domain rules, so a form and the model refuse the same input."""
from flask import current_app
from wtforms.validators import ValidationError

from app.domain import national_id
from app.errors import ValidationFailed
from app.services.attachments import check_upload


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
