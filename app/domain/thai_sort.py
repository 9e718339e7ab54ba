"""Thai dictionary order (the order of ราชบัณฑิตยสถาน's dictionary, which ICU's Thai collation
follows), for databases that do not have it (SQLite; PostgreSQL uses ICU: migration 0013).

In code-point order every word that starts with a leading vowel (เ แ โ ใ ไ) comes after ฮ.
Thai orders them by the consonant the vowel is written before, and tone and other marks count
only when everything else is equal.
"""
LEADING_VOWELS = frozenset("เแโใไ")
# Tone marks, thanthakhat, maitaikhu, nikhahit, yamakkan: second-level differences.
MARKS = frozenset("\u0e47\u0e48\u0e49\u0e4a\u0e4b\u0e4c\u0e4d\u0e4e")


def _is_consonant(char: str) -> bool:
    return "\u0e01" <= char <= "\u0e2e"


def sort_key(text: str | None) -> tuple[str, str, str]:
    """A key that sorts Thai text in dictionary order (Latin text keeps its case-blind order)."""
    text = text or ""
    reordered = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in LEADING_VOWELS and i + 1 < len(text) and _is_consonant(text[i + 1]):
            reordered += [text[i + 1], char]
            i += 2
        else:
            reordered.append(char)
            i += 1
    primary = "".join(c for c in reordered if c not in MARKS).casefold()
    marks = "".join(c for c in reordered if c in MARKS)
    return primary, marks, text


def compare(left: str | None, right: str | None) -> int:
    a, b = sort_key(left), sort_key(right)
    return (a > b) - (a < b)
