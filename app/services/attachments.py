"""What a file must be to be kept: a real PDF or JPEG, not too big, with a harmless name."""
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from app.errors import N_, ValidationFailed

MSG_EMPTY = N_("The file is empty.")
MSG_TOO_BIG = N_("The file is %(size)s MB; the limit is %(limit)s MB.")
MSG_NOT_PDF_OR_JPEG = N_("Only PDF and JPEG files are accepted, and this file is neither.")

SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    content: bytes


def safe_filename(name: str, extension: str) -> str:
    """Keep letters (Thai too), digits, dot, dash and underscore; never a path."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = re.sub(r"[^\w\-. ]+", "_", stem, flags=re.UNICODE).strip(" ._") or "file"
    return stem[:120] + extension


def check_upload(filename: str, content: bytes, max_bytes: int) -> CheckedFile:
    """Judge the file by its bytes, not by its name."""
    if not content:
        raise ValidationFailed(MSG_EMPTY)
    if len(content) > max_bytes:
        raise ValidationFailed(
            MSG_TOO_BIG,
            size=f"{len(content) / 1048576:.1f}",
            limit=f"{max_bytes / 1048576:.0f}",
        )
    for magic, content_type, extension in SIGNATURES:
        if content.startswith(magic):
            return CheckedFile(
                filename=safe_filename(filename, extension),
                content_type=content_type,
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
    raise ValidationFailed(MSG_NOT_PDF_OR_JPEG)
