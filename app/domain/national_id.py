"""The Thai national ID (เลขประจำตัวประชาชน): 13 digits with a mod-11 check digit."""
from stdnum.th import pin

from app.errors import N_, ValidationFailed

MSG_NOT_13_DIGITS = N_("National ID must be exactly 13 digits.")
MSG_BAD_CHECKSUM = N_("National ID %(value)s is not valid: the check digit does not match.")
MSG_BAD_FIRST_DIGIT = N_("National ID cannot start with 0 or 9.")


def normalize(value: str | None) -> str:
    """Digits only: people type 1-2345-67890-12-3 or with spaces."""
    return "".join(ch for ch in (value or "") if not ch.isspace() and ch != "-")


def validate(value: str | None) -> str:
    """Return the 13 digits, or raise ValidationFailed with a message fit for the user."""
    digits = normalize(value)
    if len(digits) != 13 or not digits.isdigit():
        raise ValidationFailed(MSG_NOT_13_DIGITS)
    if digits[0] in "09":
        raise ValidationFailed(MSG_BAD_FIRST_DIGIT)
    if pin.calc_check_digit(digits[:12]) != digits[12]:
        raise ValidationFailed(MSG_BAD_CHECKSUM, value=format_full(digits))
    return digits


def check_digit(first_twelve: str) -> str:
    return pin.calc_check_digit(first_twelve)


def format_full(digits: str) -> str:
    """1-2345-67890-12-3, the way the ID card prints it."""
    if len(digits) != 13:
        return digits
    return f"{digits[0]}-{digits[1:5]}-{digits[5:10]}-{digits[10:12]}-{digits[12]}"


def format_masked(digits: str) -> str:
    """1-2345-xxxxx-xx-3: enough to tell people apart in a list, not enough to misuse."""
    if len(digits) != 13:
        return "x" * len(digits)
    return f"{digits[0]}-{digits[1:5]}-xxxxx-xx-{digits[12]}"
