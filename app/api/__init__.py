"""Sitthi's REST API (JWT, under /api/v1/): the same request service as the screens."""
from flask_appbuilder import AppBuilder


def register(appbuilder: AppBuilder) -> None:
    from app.api.requests import RequestsApi

    appbuilder.add_api(RequestsApi)
