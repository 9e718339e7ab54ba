"""A catalogue row's name, Thai and English, carried as a message parameter.

A Named is its Thai name as a string (so it stores, compares and serialises as the name always
did); app.errors.translate shows English readers its English name instead. Eligibility checks
and refusals name sources, groups and functions this way, so an English sentence no longer
carries Thai names where English ones exist.
"""


class Named(str):
    english: str

    def __new__(cls, thai: str, english: str | None = None) -> "Named":
        value = super().__new__(cls, thai)
        value.english = english or thai
        return value

    def in_language(self, language: str) -> str:
        return self.english if language == "en" else str(self)


def named(row) -> Named | str:
    """Named of a row with name_th/name_en; "-" when there is none."""
    if row is None:
        return "-"
    return Named(row.name_th, getattr(row, "name_en", None))
