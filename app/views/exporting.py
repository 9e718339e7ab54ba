"""A list's download: the one place a screen turns an exports.Table into a file.

Every export is a read of personal data (OIA B.E. 2540, PDPA): it is recorded in the audit trail
with who, what and how many rows, before the file leaves.
"""
from urllib.parse import quote

from flask import Response, abort, g, request

from app.extensions import db
from app.formatting import local_today
from app.services import audit, exports


def export_format() -> str:
    """?format=csv|xlsx; anything else is not a format Sitthi writes."""
    fmt = (request.args.get("format") or "csv").lower()
    if fmt not in exports.FORMATS:
        abort(404)
    return fmt


def download(table: exports.Table, name: str, fmt: str, *, what: str, unit_id: int | None = None) -> Response:
    """The table as a file named `name-<date>.<ext>`, after auditing the export as a read."""
    content, mimetype, extension = exports.render(table, fmt)
    audit.record(db.session, "export", actor_id=getattr(g.user, "id", None), object_type=what,
                 unit_id=unit_id, summary=f"{table.title}: {len(table.rows)} rows ({extension})",
                 remote_addr=request.remote_addr)
    db.session.commit()
    filename = f"{name}-{local_today().isoformat()}.{extension}"
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": "attachment; filename*=UTF-8''" + quote(filename, safe=""),
        "X-Content-Type-Options": "nosniff",
    })
