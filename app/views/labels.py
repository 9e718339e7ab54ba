"""The column labels of the screens: kept in app/column_labels.py, which the API's downloads share."""
from app.column_labels import LABELS

__all__ = ["LABELS"]
