"""Form validators that reuse the domain rules, so a form and the model refuse the same input."""
from wtforms.validators import ValidationError

from app.domain import national_id
from app.errors import ValidationFailed


class NationalId:
    def __call__(self, form, field) -> None:
        try:
            field.data = national_id.validate(field.data)
        except ValidationFailed as error:
            raise ValidationError(error.translated()) from error
