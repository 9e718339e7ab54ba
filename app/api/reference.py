"""Reference data through the API: the unit tree to read, and what an Admin keeps as data.

Each resource is on the same permission as its screen (app/views/catalog.py): every role that
reads the screen reads the resource, and only Admin writes (adds and changes; nothing is deleted,
rows that requests and grants name are withdrawn by their flags instead). Each change is in the
audit trail as the screens write it (`DataSource.create`, `Holiday.update`, ...). Agreements,
approval chains and their stages are kept on the screens only.
"""
from marshmallow import validate

from app import labels
from app.api.scoped import ScopedApi, WritableApi, datamodel, unit_columns
from app.domain.inputs import TEXT_LIMIT
from app.models import (
    Agency,
    DataSource,
    DutyLine,
    Holiday,
    PositionLevel,
    Rank,
    RankGroup,
    SystemFunction,
    Unit,
)


class UnitsApi(ScopedApi):
    """The unit tree (public knowledge inside the force): find the id of a home or acting unit."""

    resource_name = "units"
    class_permission_name = "Unit"
    openapi_spec_tag = "Units"
    datamodel = datamodel(Unit)
    list_columns = show_columns = [
        "id", "code", "name_th", "name_en", "abbr_th", "kind", "province_th", "is_admin_scope",
        "is_active", *unit_columns("parent"),
    ]
    search_columns = ["code", "name_th", "abbr_th", "kind", "province_th", "is_admin_scope", "parent"]
    order_columns = ["id", "code", "name_th", "abbr_th", "kind"]
    base_order = ("code", "asc")


def reference_api(name: str, model, resource: str, tag: str, columns: list[str], *, shown: list[str] | None = None,
                  search: list[str], order: tuple[str, str], validators: dict | None = None) -> type[WritableApi]:
    """A reference table as a resource: the screen's permission, its columns, Admin writes."""
    return type(name, (WritableApi,), {
        "__doc__": f"{tag}: read by who reads the screen, added and changed by Admin.",
        "__module__": __name__,
        "resource_name": resource,
        "class_permission_name": model.__name__,
        "openapi_spec_tag": tag,
        "openapi_spec_methods": {
            "post": {"post": {"summary": f"Add: {tag} (Admin)"}},
            "put": {"put": {"summary": f"Change: {tag} (Admin)"}},
        },
        "datamodel": datamodel(model),
        "list_columns": ["id", *(shown or columns)],
        "show_columns": ["id", *(shown or columns)],
        "add_columns": columns,
        "edit_columns": columns,
        "search_columns": search,
        "order_columns": ["id", *order[:1]],
        "base_order": order,
        "validators_columns": validators or {},
    })


REFERENCE_APIS = (
    reference_api("RankGroupsApi", RankGroup, "rank-groups", "Rank groups", ["number", "name_th", "name_en"],
                  search=["name_th", "name_en"], order=("number", "asc")),
    reference_api("RanksApi", Rank, "ranks", "Ranks",
                  ["order", "name_th", "abbr_th", "name_en", "abbr_en", "rank_class", "rank_group"],
                  shown=["order", "name_th", "abbr_th", "name_en", "abbr_en", "rank_class", "rank_group.id"],
                  search=["name_th", "abbr_th", "name_en", "rank_group"], order=("order", "desc"),
                  validators={"rank_class": validate.OneOf(list(labels.RANK_CLASS))}),
    reference_api("DutyLinesApi", DutyLine, "duty-lines", "Duty lines", ["code", "name_th", "name_en", "external_search_eligible"],
                  search=["code", "name_th", "name_en", "external_search_eligible"], order=("code", "asc")),
    reference_api("PositionLevelsApi", PositionLevel, "position-levels", "Position levels",
                  ["order", "code", "name_th", "name_en", "is_unit_head"],
                  search=["code", "name_th", "name_en", "is_unit_head"], order=("order", "asc")),
    reference_api("HolidaysApi", Holiday, "holidays", "Holidays", ["day", "name_th", "name_en"],
                  search=["day", "name_th", "name_en"], order=("day", "desc")),
    reference_api("AgenciesApi", Agency, "agencies", "Agencies", ["code", "name_th", "name_en", "contact_email"],
                  search=["code", "name_th", "name_en"], order=("code", "asc")),
    reference_api("DataSourcesApi", DataSource, "data-sources", "Data sources", [
        "code", "name_th", "name_en", "agency", "is_open", "needs_rank_group", "needs_external_activation",
        "activation_days", "default_validity_months", "description"], shown=[
        "code", "name_th", "name_en", "agency.id", "agency.code", "is_open", "needs_rank_group",
        "needs_external_activation", "activation_days", "default_validity_months", "description"],
        search=["code", "name_th", "name_en", "agency", "is_open"], order=("code", "asc"),
        validators={"description": validate.Length(max=TEXT_LIMIT)}),
    reference_api("SystemFunctionsApi", SystemFunction, "system-functions", "System functions", [
        "code", "name_th", "name_en", "description", "min_position_level", "duty_line",
        "default_validity_months", "is_active"], shown=[
        "code", "name_th", "name_en", "description", "min_position_level.id", "duty_line.id",
        "default_validity_months", "is_active"],
        search=["code", "name_th", "name_en", "min_position_level", "duty_line", "is_active"],
        order=("code", "asc"), validators={"description": validate.Length(max=TEXT_LIMIT)}),
)
