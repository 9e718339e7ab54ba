"""What a file must be to be kept: a real PDF or JPEG, not too big, with a harmless name."""
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from app.errors import N_, ValidationFailed

MSG_EMPTY = N_("%(name)s is empty.")
MSG_TOO_BIG = N_("%(name)s is %(size)s MB; the limit is %(limit)s MB.")
MSG_NOT_PDF_OR_JPEG = N_("Only PDF and JPEG files are accepted, and %(name)s is neither.")

SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
# Characters, extension included, a stored name keeps; Thai vowels and tone marks count as one
# each, so a name of Thai words stays readable in a list and in a save dialog.
MAX_NAME_CHARS = 120
DEFAULT_STEM = "file"
# Besides controls: the characters a Content-Disposition header, a shell or Windows would read as
# syntax (quotes, ; , : and wildcards), and % so a name is never percent-decoded twice.
HEADER_UNSAFE = re.compile(r"""["'`;:<>|?*%]""")


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    content: bytes


class _AsTyped:
    """A file name as a message parameter: shown as it is, never looked up in the catalogue."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


def clean_name(name: str | None) -> str:
    """The name as the user gave it, minus what could be a path, a control or header syntax.

    Thai (and every other script) is kept whole, composed to NFC: `\\w` does not match Thai
    vowels and tone marks, so a pattern of "allowed" characters would cut Thai words apart.
    """
    name = unicodedata.normalize("NFC", name or "")
    # Only the last part of a path: browsers on Windows may send C:\...\name.pdf.
    name = re.split(r"[/\\]", name)[-1]
    # Line breaks and odd spaces become plain spaces; NUL and other controls, bidi overrides
    # (which make "gpj.exe" read as "exe.jpg"), zero-width marks and lone surrogates go.
    kept = []
    for char in name:
        if char.isspace():
            kept.append(" ")
        elif not unicodedata.category(char).startswith("C"):
            kept.append(char)
    name = HEADER_UNSAFE.sub("_", "".join(kept))
    return re.sub(r"\s+", " ", name).strip(" .")


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, never leaving a vowel or tone mark without its consonant."""
    if len(text) <= limit:
        return text
    end = limit
    while end > 0 and unicodedata.category(text[end]).startswith("M"):
        end -= 1
    return text[:end].rstrip(" ._")


def safe_filename(name: str | None, extension: str) -> str:
    """The name to store and serve: the user's words, and the extension the content proved."""
    name = clean_name(name)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _cut(stem.strip(" ._"), MAX_NAME_CHARS - len(extension)) or DEFAULT_STEM
    return stem + extension


def display_name(name: str | None) -> str:
    """How a file the user chose is named back to them (in a refusal, or "choose it again")."""
    return _cut(clean_name(name), MAX_NAME_CHARS) or DEFAULT_STEM


def check_upload(filename: str, content: bytes, max_bytes: int) -> CheckedFile:
    """Judge the file by its bytes, not by its name; a refusal names the file."""
    shown = _AsTyped(display_name(filename))
    if not content:
        raise ValidationFailed(MSG_EMPTY, name=shown)
    if len(content) > max_bytes:
        raise ValidationFailed(
            MSG_TOO_BIG,
            name=shown,
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
    raise ValidationFailed(MSG_NOT_PDF_OR_JPEG, name=shown)


class FilesRefused(ValidationFailed):
    """Files given together, some refused: each refusal stays at its own form field.

    As one error it reads as every refusal in turn, for callers with a single message (the API).
    """

    def __init__(self, refusals: dict[str, list[ValidationFailed]]):
        field, errors = next(iter(refusals.items()))
        super().__init__(errors[0].message, **errors[0].params)
        self.field = field
        self.refusals = refusals

    def translated(self) -> str:
        return " ".join(self.translated_by_field().values())

    def translated_by_field(self) -> dict[str, str]:
        return {field: " ".join(error.translated() for error in errors)
                for field, errors in self.refusals.items()}


def check_uploads(uploads, max_bytes: int) -> list[CheckedFile]:
    """Every file judged before any is kept, so one answer names each refused file at its field.

    `uploads` have a kind, a filename and content; a kind's files come from the form field
    `upload_<kind>`.
    """
    checked, refusals = [], {}
    for upload in uploads:
        try:
            checked.append(check_upload(upload.filename, upload.content, max_bytes))
        except ValidationFailed as error:
            refusals.setdefault(f"upload_{upload.kind}", []).append(error)
    if refusals:
        raise FilesRefused(refusals)
    return checked
