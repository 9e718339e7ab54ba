"""Buddhist Era dates as Thai readers write them; pure, so the memo and the screens share it."""
from datetime import date

BE_OFFSET = 543
THAI_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)
THAI_MONTHS_LONG = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)


def thai_date(value: date, style: str = "short") -> str:
    """24 ก.ค. 2559 (short) or 24 กรกฎาคม 2559 (long)."""
    months = THAI_MONTHS_LONG if style == "long" else THAI_MONTHS_SHORT
    return f"{value.day} {months[value.month - 1]} {value.year + BE_OFFSET}"


def parse_be(text: str) -> date:
    """A date as Thai personnel exports write it: dd/mm/yyyy in the Buddhist Era (also with - or .).

    A year below 2400 cannot be B.E. for anyone alive: it is refused rather than guessed as C.E.,
    so a file exported with the wrong calendar is caught instead of shifting everyone 543 years.
    Raises ValueError.
    """
    cleaned = text.strip().replace("-", "/").replace(".", "/")
    parts = cleaned.split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    day, month, year = (int(p) for p in parts)
    if year < 2400:
        raise ValueError(text)
    return date(year - BE_OFFSET, month, day)
