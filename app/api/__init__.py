"""Sitthi's REST API (JWT, under /api/v1/): the same request service as the screens."""
from flask_appbuilder import AppBuilder


def register(appbuilder: AppBuilder) -> None:
    from app.api.requests import RequestsApi
    from app.api.resources import RESOURCE_APIS

    appbuilder.add_api(RequestsApi)
    for api in RESOURCE_APIS:  # officers, units, grants, audit events: the screens' row scope
        appbuilder.add_api(api)
