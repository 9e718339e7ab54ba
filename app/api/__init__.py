"""Sitthi's REST API (JWT, under /api/v1/): the same request service as the screens."""
from flask import current_app
from flask_appbuilder import AppBuilder


def register(appbuilder: AppBuilder) -> None:
    from flask_appbuilder.api.manager import SwaggerView

    from app.api.contract import OpenApi
    from app.api.requests import RequestsApi
    from app.api.resources import RESOURCE_APIS

    appbuilder.add_api(RequestsApi)
    for api in RESOURCE_APIS:  # officers, units, grants, audit events: the screens' row scope
        appbuilder.add_api(api)
    # FAB's OpenAPI views are off (FAB_ADD_OPENAPI_VIEWS): these serve the conformed document.
    if current_app.config.get("FAB_API_SWAGGER_UI"):
        appbuilder.add_api(OpenApi)
        appbuilder.add_view_no_menu(SwaggerView)
