"""A concurrent change caught at any flush (autoflush included) is reported like a stale form."""
from functools import wraps

from sqlalchemy.orm.exc import StaleDataError

from app.errors import StaleRecord


def conflicts_are_stale(message: str):
    """Decorate a service command: SQLAlchemy's StaleDataError becomes StaleRecord(message)."""

    def decorate(command):
        @wraps(command)
        def guarded(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except StaleDataError as error:
                raise StaleRecord(message) from error

        return guarded

    return decorate
