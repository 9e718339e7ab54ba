"""Sitthi's REST API (JWT, under /api/v1/): the same services, scope and errors as the screens.

One module per resource; every hand-written resource is a `app.api.base.SitthiApi` whose
operations are declared with `@operation` (their document, and the service functions they call),
and every record resource an `app.api.scoped.ScopedApi`. A new resource is added to `API_CLASSES`.
"""
from flask import current_app
from flask_appbuilder import AppBuilder


def api_classes() -> tuple:
    from app.api.audit import AuditEventsApi
    from app.api.deactivations import DeactivationNoticesApi
    from app.api.deputies import DeputiesApi
    from app.api.exports import ExportRunsApi, ExportsApi
    from app.api.grants import AssignApi, GrantCommandsApi, GrantJustificationApi, GrantsApi
    from app.api.group_requests import GroupRequestsApi
    from app.api.imports import ImportsApi
    from app.api.officers import OfficersApi
    from app.api.reference import REFERENCE_APIS, UnitsApi
    from app.api.renewals import RenewalsApi
    from app.api.requests import RequestsApi
    from app.api.reviews import ReviewCampaignsApi, ToReviewApi

    return (
        RequestsApi, GroupRequestsApi, RenewalsApi, OfficersApi, UnitsApi, GrantsApi, GrantCommandsApi,
        GrantJustificationApi, AssignApi,
        DeputiesApi, DeactivationNoticesApi, ReviewCampaignsApi, ToReviewApi, ImportsApi, ExportsApi, ExportRunsApi,
        AuditEventsApi, *REFERENCE_APIS,
    )


def register(appbuilder: AppBuilder) -> None:
    from flask_appbuilder.api.manager import SwaggerView

    from app.api.contract import OpenApi

    for api in api_classes():
        appbuilder.add_api(api)
    # FAB's OpenAPI views are off (FAB_ADD_OPENAPI_VIEWS): these serve the conformed document.
    if current_app.config.get("FAB_API_SWAGGER_UI"):
        appbuilder.add_api(OpenApi)
        appbuilder.add_view_no_menu(SwaggerView)
