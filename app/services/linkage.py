"""Linkage Center rules: the fields an agreement allows, the justification an officer gives for a
source, the letters kept as PDFs, and the agencies' super users.

The rules of a request (which fields may be asked, which answers are missing) are judged by
app.services.eligibility with what this module reads; the request form's own input (fields of
the source, answers of the right kind and length) is checked here, before anything is saved.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from app.domain import inputs
from app.domain.named import Named, named
from app.errors import N_, ValidationFailed
from app.models import (
    Agency,
    AgencySuperUser,
    DataField,
    DataSharingAgreement,
    DataSource,
    JustificationQuestion,
    LinkageLetter,
    agreement_field,
)
from app.services.attachments import CheckedFile, check_upload

MSG_LETTER_NOT_PDF = N_("The letter must be a PDF file; %(name)s is not.")
MSG_NO_FIELD_CHOSEN = N_("Choose the data fields of %(source)s you need.")
MSG_UNKNOWN_FIELD = N_("A data field chosen does not belong to %(source)s.")
MSG_FIELDS_NOT_ALLOWED = N_("The data-sharing agreement with %(agency)s does not allow these fields of %(source)s: %(fields)s.")
MSG_FIELDS_ALLOWED = N_("The data-sharing agreement allows the fields asked of %(source)s.")
MSG_UNKNOWN_QUESTION = N_("A question answered is not asked for %(source)s.")
MSG_ANSWER_REQUIRED = N_("Answer “%(question)s” for %(source)s.")
MSG_ANSWER_TOO_LONG = N_("Keep the answer under %(limit)s characters.")
MSG_ANSWER_NUMBER = N_("Enter a number (digits only).")
MSG_FIELDS_OF_OTHER_AGENCY = N_("Only fields of the sources of %(agency)s can be allowed by its agreement: %(fields)s.")
MSG_SUPER_USER_DATES = N_("The end of the appointment cannot be before its start.")


def fields_field(source_id: int) -> str:
    """The form field where the fields of a source are chosen (and their refusals shown)."""
    return f"fields_{source_id}"


def answer_field(source_id: int, question_id: int) -> str:
    return f"answer_{source_id}_{question_id}"


# -- what the agreements allow -----------------------------------------------------------------
def in_force(model, today: date):
    """The condition of an agreement (or a super user's appointment) in force on `today`."""
    return (model.valid_from <= today) & or_(model.valid_until.is_(None), model.valid_until >= today)


def allowed_field_ids(session: Session, today: date) -> set[int]:
    """The fields allowed by the agreements in force on `today`."""
    return set(session.scalars(
        select(agreement_field.c.data_field_id)
        .join(DataSharingAgreement, DataSharingAgreement.id == agreement_field.c.agreement_id)
        .where(in_force(DataSharingAgreement, today))))


def fields_by_source(session: Session, source_ids) -> dict[int, list[DataField]]:
    found: dict[int, list[DataField]] = defaultdict(list)
    ids = sorted(set(source_ids))
    if ids:
        for field in session.scalars(select(DataField).where(DataField.data_source_id.in_(ids))
                                     .order_by(DataField.data_source_id, DataField.position, DataField.id)):
            found[field.data_source_id].append(field)
    return found


def questions_by_source(session: Session, source_ids) -> dict[int, list[JustificationQuestion]]:
    """The questions asked of each source now, in the Admin's order."""
    found: dict[int, list[JustificationQuestion]] = defaultdict(list)
    ids = sorted(set(source_ids))
    if ids:
        for question in session.scalars(
                select(JustificationQuestion).where(JustificationQuestion.data_source_id.in_(ids),
                                                    JustificationQuestion.is_active.is_(True))
                .order_by(JustificationQuestion.data_source_id, JustificationQuestion.position,
                          JustificationQuestion.id)):
            found[question.data_source_id].append(question)
    return found


def field_names(fields) -> Named:
    """The fields as one parameter, named in the reader's language."""
    return Named(", ".join(f.name_th for f in fields), ", ".join(f.name_en for f in fields))


def question_label(question) -> Named:
    return Named(question.label_th, question.label_en)


# -- the request form's input ------------------------------------------------------------------
@dataclass(frozen=True)
class SourceJustification:
    """What an item of a source asks (its fields) and says (answers by question)."""

    fields: list[DataField]
    answers: dict[int, str]


def read_answer(question: JustificationQuestion, raw: str, buddhist_era: bool) -> str:
    """The answer as kept: trimmed, within the question's length, of its kind (a date as ISO)."""
    text = (raw or "").strip()
    if len(text) > question.max_length:
        raise ValidationFailed(MSG_ANSWER_TOO_LONG, limit=question.max_length)
    if not text:
        return ""
    if question.answer_kind == "number" and not text.isdecimal():
        raise ValidationFailed(MSG_ANSWER_NUMBER)
    if question.answer_kind == "date":
        return inputs.entered_date(text, buddhist_era).isoformat()
    return text


def justification_of(session: Session, source: DataSource, field_ids, answers, allowed: set[int],
                     buddhist_era: bool, problems: list) -> SourceJustification:
    """Check the fields and answers given for one source; each problem is added at its field.

    `field_ids` None means none were stated (the API, a renewal): the item asks for every field
    the agreement in force allows, written down so the approver and the grant see them.
    """
    known = fields_by_source(session, [source.id]).get(source.id, [])
    chosen: list[DataField] = []
    if known:
        by_id = {f.id: f for f in known}
        if field_ids is None:
            chosen = [f for f in known if f.id in allowed]
        else:
            wanted = list(dict.fromkeys(field_ids))
            if any(i not in by_id for i in wanted):
                problems.append((fields_field(source.id), MSG_UNKNOWN_FIELD, {"source": named(source)}))
            chosen = [by_id[i] for i in wanted if i in by_id]
            outside = [f for f in chosen if f.id not in allowed]
            if outside:
                problems.append((fields_field(source.id), MSG_FIELDS_NOT_ALLOWED,
                                 {"agency": named(source.agency), "source": named(source),
                                  "fields": field_names(outside)}))
        if not chosen and not any(p[0] == fields_field(source.id) for p in problems):
            problems.append((fields_field(source.id), MSG_NO_FIELD_CHOSEN, {"source": named(source)}))
    questions = {q.id: q for q in questions_by_source(session, [source.id]).get(source.id, [])}
    kept: dict[int, str] = {}
    for question_id, raw in answers:
        question = questions.get(question_id)
        if question is None:
            problems.append((answer_field(source.id, question_id), MSG_UNKNOWN_QUESTION, {"source": named(source)}))
            continue
        try:
            value = read_answer(question, raw, buddhist_era)
        except ValidationFailed as refused:
            problems.append((answer_field(source.id, question_id), refused.message, refused.params))
            continue
        if value:
            kept[question_id] = value
    return SourceJustification(chosen, kept)


def missing_answers(item, questions: list[JustificationQuestion]) -> list[JustificationQuestion]:
    """The required questions of the item's source it has no answer to."""
    answered = {a.question_id for a in item.answers if (a.value or "").strip()}
    return [q for q in questions if q.required and q.id not in answered]


# -- letters ------------------------------------------------------------------------------------
def check_letter(filename: str, content: bytes, max_bytes: int) -> CheckedFile:
    """A letter is checked like an attachment (content, size, name), and must be a PDF."""
    checked = check_upload(filename, content, max_bytes)
    if checked.content_type != "application/pdf":
        raise ValidationFailed(MSG_LETTER_NOT_PDF, name=checked.filename)
    return checked


def keep_letter(session: Session, checked: CheckedFile, user_id: int | None) -> LinkageLetter:
    letter = LinkageLetter(filename=checked.filename, content_type=checked.content_type,
                           size_bytes=checked.size_bytes, sha256=checked.sha256, content=checked.content,
                           uploaded_by_id=user_id)
    session.add(letter)
    return letter


def foreign_fields(agency_id: int | None, fields) -> list:
    """Fields an agreement of this agency names that belong to another agency's sources."""
    return [f for f in fields if agency_id is None or f.data_source.agency_id != agency_id]


# -- super users ------------------------------------------------------------------------------
def agencies_without_super_user(session: Session, today: date) -> list[Agency]:
    """Agencies with an agreement in force on `today` and no super user appointed that day:
    nobody manages their officers' accounts at the Linkage Center."""
    agreed = exists().where(DataSharingAgreement.agency_id == Agency.id, in_force(DataSharingAgreement, today))
    served = exists().where(AgencySuperUser.agency_id == Agency.id, in_force(AgencySuperUser, today))
    return list(session.scalars(select(Agency).where(agreed, ~served).order_by(Agency.code)))


def current_super_users(session: Session, today: date) -> list[AgencySuperUser]:
    return list(session.scalars(select(AgencySuperUser).where(in_force(AgencySuperUser, today))
                                .order_by(AgencySuperUser.agency_id, AgencySuperUser.id)))
