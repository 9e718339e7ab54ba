"""The Thai national ID (เลขประจำตัวประชาชน): 13 digits with a mod-11 check digit."""
import operator

from stdnum.th import pin

from app.errors import N_, ValidationFailed

MSG_NOT_13_DIGITS = N_("National ID must be exactly 13 digits.")
MSG_BAD_CHECKSUM = N_("National ID %(value)s is not valid: the check digit does not match.")
MSG_BAD_FIRST_DIGIT = N_("National ID cannot start with 0 or 9.")


# Thai digits (๐-๙) as an office PC with a Thai keyboard types them.
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


def normalize(value: str | None) -> str:
    """Digits only: people type 1-2345-67890-12-3, with spaces, or in Thai digits."""
    return "".join(ch for ch in (value or "") if not ch.isspace() and ch != "-").translate(_THAI_DIGITS)


def validate(value: str | None) -> str:
    """Return the 13 digits, or raise ValidationFailed with a message fit for the user."""
    digits = normalize(value)
    # isdigit() alone admits "²" and other digits int() cannot read.
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
        raise ValidationFailed(MSG_NOT_13_DIGITS)
    if digits[0] in "09":
        raise ValidationFailed(MSG_BAD_FIRST_DIGIT)
    if pin.calc_check_digit(digits[:12]) != digits[12]:
        raise ValidationFailed(MSG_BAD_CHECKSUM, value=format_full(digits))
    return digits


_WEIGHTS = tuple(range(13, 1, -1))
_WEIGHT_SUM = sum(_WEIGHTS)


def is_valid(digits: str) -> bool:
    """validate()'s verdict on 13 digits already normalised, without a reason: what an import
    asks of 230,000 rows, where stdnum's check costs a second."""
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit() or digits[0] in "09":
        return False
    # Each digit's code less 48 (ord("0")): no int() per digit.
    codes = digits.encode()
    total = sum(map(operator.mul, codes[:12], _WEIGHTS)) - 48 * _WEIGHT_SUM
    return (11 - total % 11) % 10 == codes[12] - 48


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
