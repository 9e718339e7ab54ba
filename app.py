"""Entry point for `flask --app app` and `gunicorn 'app:create_app()'`."""
from app import create_app  # noqa: F401  (flask finds the factory by name)
