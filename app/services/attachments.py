"""What a file must be to be kept: a real PDF or JPEG, not too big, with a harmless name.

A file is judged whole, not by its first bytes: a PDF must parse and carry no JavaScript, launch
action or embedded file, and end where a PDF ends; a JPEG must decode to its last pixel and end
where a JPEG ends, and what is kept is the picture encoded afresh, without its metadata (the
camera, the place it was taken). So a truncated file, or an image or PDF with a web page behind
it, is refused with the reason, and nothing that could run in a viewer is stored.
"""
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from app.errors import N_, ValidationFailed

MSG_EMPTY = N_("%(name)s is empty.")
MSG_TOO_BIG = N_("%(name)s is %(size)s MB; the limit is %(limit)s MB.")
MSG_NOT_PDF_OR_JPEG = N_("Only PDF and JPEG files are accepted, and %(name)s is neither.")
MSG_BAD_NAME = N_("The file name %(name)s holds a folder path or control characters: rename the file and "
                  "choose it again.")
MSG_PDF_UNREADABLE = N_("%(name)s is not a readable PDF (it may be damaged or cut short).")
MSG_PDF_ENCRYPTED = N_("%(name)s is protected by a password: attach a copy without one.")
MSG_PDF_ACTIVE = N_("%(name)s holds %(what)s, which Sitthi does not accept in a PDF: print it to a new PDF "
                    "and attach that.")
MSG_AFTER_THE_END = N_("%(name)s has more data after the end of its content: save it again as a plain file.")
MSG_JPEG_UNREADABLE = N_("%(name)s is not a readable JPEG image (it may be damaged or cut short).")
MSG_JPEG_TOO_MANY_PIXELS = N_("%(name)s is %(pixels)s megapixels; the limit is %(limit)s.")
ACTIVE_CONTENT = {
    "/JavaScript": N_("JavaScript"), "/JS": N_("JavaScript"), "/Launch": N_("an action that starts a program"),
    "/EmbeddedFiles": N_("embedded files"), "/EmbeddedFile": N_("embedded files"),
    "/FileAttachment": N_("embedded files"), "/RichMedia": N_("embedded media"),
}
MAX_PIXELS = 40_000_000  # a 40-megapixel scan or photo; a "bomb" that unpacks to gigabytes is refused
MAX_PDF_OBJECTS = 200_000
JPEG_QUALITY = 90

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
    if _names_a_path_or_controls(filename):
        raise ValidationFailed(MSG_BAD_NAME, name=shown)
    for magic, content_type, extension in SIGNATURES:
        if content.startswith(magic):
            content = _checked_pdf(content, shown) if content_type == "application/pdf" \
                else _clean_jpeg(content, shown)
            return CheckedFile(
                filename=safe_filename(filename, extension),
                content_type=content_type,
                size_bytes=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
    raise ValidationFailed(MSG_NOT_PDF_OR_JPEG, name=shown)


def _names_a_path_or_controls(name: str | None) -> bool:
    name = name or ""
    if "/" in name or "\\" in name:
        return True
    return any(unicodedata.category(char) in ("Cc", "Cf") for char in name)


def _checked_pdf(content: bytes, shown) -> bytes:
    """The PDF as it came, once it has parsed whole and proved to hold nothing active."""
    if not content.rstrip().endswith(b"%%EOF"):
        # Cut short, or something (a web page, a second file) glued on behind the PDF.
        trailing = b"%%EOF" in content[-65536:]
        raise ValidationFailed(MSG_AFTER_THE_END if trailing else MSG_PDF_UNREADABLE, name=shown)
    quiet = logging.getLogger("pypdf")
    level, quiet.level = quiet.level, logging.ERROR
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise ValidationFailed(MSG_PDF_ENCRYPTED, name=shown)
        if len(reader.pages) < 1:
            raise ValidationFailed(MSG_PDF_UNREADABLE, name=shown)
        found = _active_content(reader.trailer)
    except ValidationFailed:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
        raise ValidationFailed(MSG_PDF_UNREADABLE, name=shown) from None
    finally:
        quiet.level = level
    if found:
        raise ValidationFailed(MSG_PDF_ACTIVE, name=shown, what=ACTIVE_CONTENT[found])
    return content


def _active_content(root) -> str | None:
    """The first name of active content met walking every object the PDF reaches."""
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            if (node.idnum, node.generation) in seen:
                continue
            seen.add((node.idnum, node.generation))
            if len(seen) > MAX_PDF_OBJECTS:
                raise ValueError("too many objects")
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for key, value in node.items():
                if key in ACTIVE_CONTENT:
                    return key
                if isinstance(value, NameObject) and value in ACTIVE_CONTENT and key in ("/S", "/Subtype"):
                    return str(value)
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None


def _clean_jpeg(content: bytes, shown) -> bytes:
    """The picture decoded to its last pixel and encoded afresh, upright and without metadata."""
    if not content.rstrip(b"\x00").endswith(b"\xff\xd9"):
        trailing = b"\xff\xd9" in content
        raise ValidationFailed(MSG_AFTER_THE_END if trailing else MSG_JPEG_UNREADABLE, name=shown)
    try:
        with Image.open(io.BytesIO(content), formats=["JPEG"]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValidationFailed(MSG_JPEG_TOO_MANY_PIXELS, name=shown,
                                       pixels=f"{width * height / 1e6:.0f}", limit=f"{MAX_PIXELS / 1e6:.0f}")
            image.load()
            upright = ImageOps.exif_transpose(image)
            if upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            fresh = io.BytesIO()
            upright.save(fresh, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ValidationFailed(MSG_JPEG_UNREADABLE, name=shown) from None
    return fresh.getvalue()


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
