"""Validator messages of every form (ours and Flask-AppBuilder's) in the reader's language.

Flask-WTF looks WTForms' messages up in WTForms' own catalogue, which has no Thai, so a Thai user
read "This field is required." in English. Sitthi's catalogue carries those messages
(app/views/form_messages.py marks them); this looks there first and falls back to WTForms'.
"""
import flask_wtf.form
from flask_babel import get_translations
from flask_wtf.i18n import translations as wtforms_translations


class CatalogueFirst:
    def gettext(self, string: str) -> str:
        translated = get_translations().ugettext(string)
        return translated if translated != string else wtforms_translations.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        # Thai has one form; the catalogue keys both English forms as plain messages.
        return self.gettext(singular if n == 1 else plural)


def register() -> None:
    """Every FlaskForm reads module-level `translations` when it validates."""
    flask_wtf.form.translations = CatalogueFirst()
