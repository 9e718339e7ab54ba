"""Search filters that fit Sitthi's data better than FAB's generic ones."""
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter
from flask_babel import lazy_gettext as _l

from app.services import officer_search


class NationalIdIs(BaseFilter):
    """All 13 digits, typed with or without dashes; fewer find no one (never a prefix: MISSION §9).

    The only filter on a national ID, on screens and in the REST API (``opr:nid``): FAB's string
    filters (starts with, contains, ...) are never offered for it.
    """

    name = _l("Is (all 13 digits)")
    arg_name = "nid"

    def apply(self, query, value):
        return query.filter(officer_search.national_id_is(getattr(self.model, self.column_name), value))


class SitthiFilterConverter(SQLAFilterConverter):
    conversion_table = (
        ("is_national_id", [NationalIdIs]),
        *SQLAFilterConverter.conversion_table,
    )
