"""Verification codes printed on Sitthi's documents (the memo of a request, the certificate of a
permission), so that whoever holds the paper can check it against the system.

A code names its document and carries a keyed MAC of that name: "M-123456-7K3QX9P2AB" is the memo
of request 123456. Only the holder of the application's secret key can make one, a changed digit
fails, and guessing the ten-character MAC of some other document takes about 2^50 tries ("G-..."
is a permission, "R-..." the memo of a group request). The
code is shown with a QR code of the address that checks it. Pure: the key is given.
"""
import base64
import hashlib
import hmac
import re

KINDS = {"M": "memo", "G": "grant", "R": "group"}
_MAC_LENGTH = 10
_CODE = re.compile(rf"^([A-Z])-([1-9][0-9]{{0,11}})-([A-Z2-7]{{{_MAC_LENGTH}}})$")


def _mac(secret: bytes, kind: str, ident: int) -> str:
    digest = hmac.new(secret, f"sitthi-document:{kind}:{ident}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:_MAC_LENGTH]


def document_code(secret: bytes, kind: str, ident: int) -> str:
    """The code printed on a document: its kind letter, its id and the MAC of both."""
    letter = next(letter for letter, name in KINDS.items() if name == kind)
    return f"{letter}-{ident}-{_mac(secret, kind, ident)}"


def read_code(secret: bytes, code: str) -> tuple[str, int] | None:
    """(kind, id) of a genuine code as typed or scanned (any case, spaces and dashes loose); None
    for anything else."""
    cleaned = re.sub(r"[\s\u2010-\u2015]+", "-", (code or "")[:64].strip().upper())
    match = _CODE.match(cleaned)
    if match is None or match.group(1) not in KINDS:
        return None
    kind, ident = KINDS[match.group(1)], int(match.group(2))
    if not hmac.compare_digest(match.group(3), _mac(secret, kind, ident)):
        return None
    return kind, ident
