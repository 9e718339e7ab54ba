"""The error report of an import: every refused row with its line, reason and the row as given,
so Personnel can fix the rows and import them again."""
from app.errors import N_, translate
from app.services.exports import Table

H_LINE = N_("Line")
H_IDENTIFIER = N_("National ID or code")
H_REASON = N_("Reason")
T_REJECTS = N_("Rejected rows of import %(run)s")


def reason(reject) -> str:
    """The reason in the reader's language (the message is stored untranslated, with its values)."""
    return translate(reject.message, reject.params)


def rejects_table(run, rejects) -> Table:
    raw_headers: list[str] = []
    for reject in rejects:
        for header in (reject.raw or {}):
            if header not in raw_headers:
                raw_headers.append(header)
    rows = [[r.line, r.identifier or "", reason(r), *[(r.raw or {}).get(h, "") for h in raw_headers]]
            for r in rejects]
    return Table(translate(T_REJECTS, {"run": f"#{run.id}"}),
                 [translate(H_LINE), translate(H_IDENTIFIER), translate(H_REASON), *raw_headers], rows)
