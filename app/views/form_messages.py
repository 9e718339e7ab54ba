"""WTForms' own messages that Sitthi's forms can show, marked here so the catalogue carries them.

Flask-WTF looks every validator message up in our catalogue; WTForms ships no Thai, so without
these entries a Thai user would read "Not a valid date value." in English.
"""
from app.errors import N_

WTFORMS_MESSAGES = (
    N_("Not a valid date value."),
    N_("Not a valid integer value."),
    N_("Invalid email address."),
    N_("Field cannot be longer than %(max)d character."),
    N_("Field cannot be longer than %(max)d characters."),
    N_("Field must be at least %(min)d character long."),
    N_("Field must be at least %(min)d characters long."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_("Number must be between %(min)s and %(max)s."),
)
