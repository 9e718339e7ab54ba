"""Password policy for every password set through FAB's screens and API."""
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_babel import gettext

MIN_LENGTH = 10


def password_complexity(password: str) -> None:
    """At least 10 characters with a lower, an upper case letter, a digit and a symbol."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(gettext("at least %(n)d characters", n=MIN_LENGTH))
    if not any(c.islower() for c in password):
        problems.append(gettext("a lower-case letter"))
    if not any(c.isupper() for c in password):
        problems.append(gettext("an upper-case letter"))
    if not any(c.isdigit() for c in password):
        problems.append(gettext("a digit"))
    if all(c.isalnum() for c in password):
        problems.append(gettext("a symbol"))
    if problems:
        raise PasswordComplexityValidationError(
            gettext("The password needs %(missing)s.", missing=", ".join(problems))
        )
