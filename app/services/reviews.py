"""Rights reviews (การตรวจสอบสิทธิ์): a command shows, grant by grant, that every holder still needs what they hold.

- `start_campaign`: the Central IT Center (any command) or the command's own technology staff
  start a review of one command. It is saved "preparing" with a queued JobRun; `prepare`, carried
  out by a worker, makes every live grant (active, pending activation, suspended) of the command's
  officers one pending item, in one statement, and opens it (32,000 items took 1.5 s: not work for
  a web request).
- `decide`: a reviewer marks an item keep, revoke or fix-data (a comment is required for the last
  two). Until it is signed off a decision can be changed, by any reviewer of the item; it then
  belongs to whoever decided it last.
- `sign_off`: a reviewer's decisions take effect. Revoke ends the grant through
  app.services.grants (audit, the holder's mail, the agency's deactivation notice); fix-data opens
  a DataChangeRequest for the personnel staff of the officer's command
  (app.services.data_changes); keep changes nothing.
- `close_due_campaigns`: the scheduled job (`flask sitthi close-campaigns`). The due date is the
  last day to review: from the day after, every item nobody signed off follows the campaign's rule
  (keep, or suspend the grant "not reviewed by <due date>"), the campaign closes under a JobRun, and
  a recurring campaign starts its next one.

Reviewers are the command's technology staff and, when the campaign asks for it, each officer's
unit head (app.security.unit_heads). Nobody reviews their own grants. Every command loads its rows
through app.security.scope and checks the reviewer again; nothing here commits.
"""
from dataclasses import dataclass, fields
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import Integer, String, and_, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from app.domain import inputs
from app.domain.inputs import TEXT_LIMIT
from app.domain.thai_dates import thai_date
from app.errors import N_, NotAllowed, NotFound, StaleRecord, ValidationFailed
from app.models import Grant, JobRun, Officer, ReviewCampaign, ReviewDecision, Unit, User
from app.models.collation import thai
from app.models.review import RECURRENCES, UNDECIDED_RULES
from app.security.scope import (
    CENTRAL_IT,
    COMMAND_TECH,
    Actor,
    command_staff,
    is_visible,
    officers_in_command,
    units_under,
)
from app.security.unit_heads import command_heads, officers_reviewed_by
from app.services import audit, data_changes, grants, jobs, notifications, rights_audit
from app.services.clock import Clock
from app.services.conflicts import conflicts_are_stale

MSG_NOT_STARTER = N_("Only the Central IT Center, or the technology staff of the command itself, start a rights review.")
MSG_NOT_A_COMMAND = N_("Choose a command: a unit that administers its own subtree (บก./ภ.จว.).")
MSG_OTHER_COMMAND = N_("You may start a rights review of your own command only.")
MSG_NAME_REQUIRED = N_("Give the review a name.")
MSG_TOO_LONG = N_("Keep this under %(limit)s characters.")
MSG_DUE_REQUIRED = N_("Choose the due date.")
MSG_DUE_AFTER_TODAY = N_("The due date must be after today.")
MSG_DUE_TOO_FAR = N_("The due date must be within %(months)s months.")
MSG_UNKNOWN_CHOICE = N_("Choose one of the offered values.")
MSG_ALREADY_OPEN = N_("%(command)s already has a rights review under way (%(name)s, due %(due)s).")
MSG_CAMPAIGN_NOT_FOUND = N_("No such rights review, or not one you may see.")
MSG_NOT_FOUND = N_("No such review item, or not one you may see.")
MSG_OWN = N_("Nobody reviews their own permissions: another reviewer must.")
MSG_NOT_REVIEWER = N_("You do not review this item: the technology staff of the officer's command do "
                      "(and the officer's unit head, when the review asks for it).")
MSG_CLOSED = N_("This rights review is closed.")
MSG_SIGNED_OFF = N_("This item is signed off: its decision has taken effect.")
MSG_OUTCOME = N_("Choose keep, revoke or fix personnel data.")
MSG_COMMENT_REQUIRED = N_("Give a comment: it is required to revoke, and to ask for a data correction.")
MSG_CANNOT_REVOKE = N_("A permission in the state %(state)s cannot be revoked.")
MSG_NOTHING_TO_SIGN = N_("You have no decisions waiting for your sign-off in this review.")
MSG_STALE = N_("Someone changed this item after you opened it. Nothing was saved: reload the page and try again.")

# Grants a review covers: what the officer holds, is about to hold, or may hold again.
LIVE_STATES = ("active", "pending_activation", "suspended")
# A review being listed holds its command as an open one does.
UNDER_WAY = ("preparing", "open")
OUTCOMES = ("keep", "revoke", "fix_data")
NEEDS_COMMENT = ("revoke", "fix_data")
# Grant states in which a signed-off revocation has nothing left to end.
ENDED_STATES = ("revoked", "expired")
NAME_LIMIT = 200
MAX_DUE_MONTHS = 12
PERIODS = {"quarterly": relativedelta(months=3), "yearly": relativedelta(years=1)}
CAMPAIGN_LINK = f"{notifications.APP_URL_MARK}/reviewcampaignview/show/"
TO_REVIEW_LINK = f"{notifications.APP_URL_MARK}/toreviewview/list/"


def _invalid(field_name: str, message: str, **params) -> ValidationFailed:
    error = ValidationFailed(message, **params)
    error.field = field_name
    return error


# -- starting ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CampaignSpec:
    """What the start form asks for."""

    name: str
    command_id: object
    due_on: date | None
    undecided_rule: str = "keep"
    recurrence: str = "none"
    heads_review: bool = False


def may_start(actor: Actor) -> bool:
    return actor.has_role(CENTRAL_IT) or (actor.has_role(COMMAND_TECH) and actor.command_id is not None)


def startable_commands(session: Session, actor: Actor) -> list[Unit]:
    """The commands the actor may start a review of: every command for CentralIT, else their own."""
    if actor.has_role(CENTRAL_IT):
        return list(session.scalars(select(Unit).where(Unit.is_admin_scope.is_(True), Unit.is_active.is_(True))
                                    .order_by(thai(Unit.name_th))))
    if may_start(actor):
        return [session.get(Unit, actor.command_id)]
    return []


def start_campaign(session: Session, actor: Actor, spec: CampaignSpec, clock: Clock) -> ReviewCampaign:
    """Open a review of a command and snapshot its live grants as pending items."""
    if not may_start(actor):
        raise NotAllowed(MSG_NOT_STARTER)
    command_id = inputs.as_id(spec.command_id)
    command = session.get(Unit, command_id) if command_id is not None else None
    if command is None or not command.is_admin_scope:
        raise _invalid("command", MSG_NOT_A_COMMAND)
    if not actor.has_role(CENTRAL_IT) and command.id != actor.command_id:
        raise NotAllowed(MSG_OTHER_COMMAND)
    name = (spec.name or "").strip()
    if not name:
        raise _invalid("name", MSG_NAME_REQUIRED)
    if len(name) > NAME_LIMIT:
        raise _invalid("name", MSG_TOO_LONG, limit=NAME_LIMIT)
    if spec.due_on is None:
        raise _invalid("due_on", MSG_DUE_REQUIRED)
    if spec.due_on <= clock.today:
        raise _invalid("due_on", MSG_DUE_AFTER_TODAY)
    if spec.due_on > clock.today + relativedelta(months=MAX_DUE_MONTHS):
        raise _invalid("due_on", MSG_DUE_TOO_FAR, months=MAX_DUE_MONTHS)
    if spec.undecided_rule not in UNDECIDED_RULES:
        raise _invalid("undecided_rule", MSG_UNKNOWN_CHOICE)
    if spec.recurrence not in RECURRENCES:
        raise _invalid("recurrence", MSG_UNKNOWN_CHOICE)
    # One review of a command at a time: two would ask the same reviewers about the same grants.
    jobs.fail_lost_runs(session, clock)
    under_way = session.scalar(select(ReviewCampaign).where(
        ReviewCampaign.unit_id == command.id, ReviewCampaign.state.in_(UNDER_WAY)).limit(1))
    if under_way is not None:
        raise _invalid("command", MSG_ALREADY_OPEN, command=str(command), name=under_way.name,
                       due=under_way.due_on)
    run = JobRun(kind=jobs.REVIEW_START, state="queued", filename=name[:255], command_id=command.id,
                 started_by_id=actor.user_id, created_at=clock.now)
    session.add(run)
    session.flush()
    campaign = ReviewCampaign(
        name=name, unit_id=command.id, starts_on=clock.today, due_on=spec.due_on, state="preparing",
        created_by_id=actor.user_id, undecided_rule=spec.undecided_rule, recurrence=spec.recurrence,
        heads_review=bool(spec.heads_review), start_run_id=run.id)
    session.add(campaign)
    session.flush()
    audit.record(session, "JobRun.queue", actor_id=actor.user_id, object_type="JobRun", object_id=run.id,
                 unit_id=command.id, summary=f"{jobs.REVIEW_START}: {campaign.id}", job_run_id=run.id)
    return campaign


def prepare(session: Session, clock: Clock, run_id: int) -> JobRun:
    """Carry out a review's start run: list its items and open it; commits. A run another worker
    took is left alone. A failure lists nothing and leaves the review failed, with the run's reason,
    so the command may start another."""
    run, claimed = jobs.claim(session, clock, run_id)
    if not claimed:
        return run
    campaign_id = session.scalar(select(ReviewCampaign.id).where(ReviewCampaign.start_run_id == run_id))

    def review_failed() -> None:
        session.execute(update(ReviewCampaign).where(ReviewCampaign.id == campaign_id,
                                                     ReviewCampaign.state == "preparing").values(state="failed"))

    try:
        campaign = session.get(ReviewCampaign, campaign_id)
        if campaign is None or campaign.state != "preparing":
            raise NotFound(MSG_CAMPAIGN_NOT_FOUND)
        items = _open(session, campaign, actor_user_id=run.started_by_id, job_run_id=run_id)
        session.execute(update(JobRun).where(JobRun.id == run_id).values(
            state="done", finished_at=clock.now, total=items, processed=items, created_count=items,
            summary={"campaign_id": campaign.id, "items": items}))
        session.commit()
    except Exception as error:  # the run reports any failure; no item of it is kept
        jobs.failed(session, clock, run_id, error, after_rollback=review_failed)
    session.expire_all()
    return session.get(JobRun, run_id)


def start_error(session: Session, campaign: ReviewCampaign) -> str | None:
    """Why a review did not open, in the reader's language (None unless it failed)."""
    if campaign.state != "failed" or campaign.start_run_id is None:
        return None
    return jobs.error_text(session.get(JobRun, campaign.start_run_id))


def _open(session: Session, campaign: ReviewCampaign, *, actor_user_id: int | None,
          job_run_id: int | None = None) -> int:
    """Open the campaign, add one pending item per live grant of the command's officers (one
    INSERT ... SELECT, whatever their number), audit and tell the reviewers. Returns the item count."""
    campaign.state = "open"
    session.add(campaign)
    session.flush()
    within = units_under(session, campaign.unit_id)
    grants_of_command = (
        select(literal(campaign.id, Integer), Grant.id, Grant.officer_id, literal("pending", String),
               literal(1, Integer))
        .select_from(Grant).join(Officer, Grant.officer_id == Officer.id)
        .where(Grant.state.in_(LIVE_STATES), officers_in_command(within))
    )
    session.execute(insert(ReviewDecision).from_select(
        ["campaign_id", "grant_id", "officer_id", "outcome", "version"], grants_of_command))
    items = session.scalar(select(func.count(ReviewDecision.id)).where(ReviewDecision.campaign_id == campaign.id))
    audit.record(session, "ReviewCampaign.start", actor_id=actor_user_id, obj=campaign,
                 unit_id=campaign.unit_id, after={**audit.snapshot(campaign), "items": items},
                 job_run_id=job_run_id)
    _mail_reviewers(session, campaign, items)
    return items


# -- who reviews what ----------------------------------------------------------------------------
def reviewable(session: Session, actor: Actor, *, open_only: bool = False):
    """The items the actor reviews, as a condition on ReviewDecision (None: they review nothing).

    In the reviews of the actor's own command: as its technology staff, every officer's item; as
    a unit head, when the review asks heads to review, the items of the officers they head. Never
    the actor's own.
    """
    if actor.command_id is None:
        return None
    campaigns = select(ReviewCampaign.id).where(ReviewCampaign.unit_id == actor.command_id)
    if open_only:
        campaigns = campaigns.where(ReviewCampaign.state == "open")
    parts = []
    if actor.has_role(COMMAND_TECH):
        within = units_under(session, actor.command_id)
        parts.append(and_(ReviewDecision.campaign_id.in_(campaigns),
                          ReviewDecision.officer_id.in_(select(Officer.id).where(officers_in_command(within)))))
    headed = officers_reviewed_by(session, actor.officer_id, actor.command_id)
    if headed is not None:
        parts.append(and_(ReviewDecision.campaign_id.in_(campaigns.where(ReviewCampaign.heads_review.is_(True))),
                          ReviewDecision.officer_id.in_(select(Officer.id).where(headed))))
    if not parts:
        return None
    condition = or_(*parts)
    if actor.officer_id is not None:
        condition = and_(condition, ReviewDecision.officer_id != actor.officer_id)
    return condition


def waiting_for_review(session: Session, actor: Actor):
    """The reviewer's inbox: items of open reviews they have not signed off yet (None: no inbox)."""
    condition = reviewable(session, actor, open_only=True)
    return None if condition is None else and_(condition, ReviewDecision.signed_off_at.is_(None))


def load_item(session: Session, actor: Actor, decision_id) -> ReviewDecision:
    """An item the actor reviews, seen through the row scope; refused with the reason otherwise."""
    pk = inputs.as_id(decision_id)
    if pk is None or not is_visible(session, actor, ReviewDecision, pk):
        raise NotFound(MSG_NOT_FOUND)
    decision = session.get(ReviewDecision, pk)
    if actor.officer_id is not None and decision.officer_id == actor.officer_id:
        raise NotAllowed(MSG_OWN)
    condition = reviewable(session, actor)
    if condition is None or session.scalar(
            select(ReviewDecision.id).where(ReviewDecision.id == pk, condition)) is None:
        raise NotAllowed(MSG_NOT_REVIEWER)
    return decision


# -- deciding ------------------------------------------------------------------------------------
@conflicts_are_stale(MSG_STALE)
def decide(session: Session, actor: Actor, decision_id, outcome: str, comment: str | None, clock: Clock,
           expected_version=None) -> ReviewDecision:
    """Mark one item keep, revoke or fix_data; it takes effect when the reviewer signs off."""
    decision = load_item(session, actor, decision_id)
    expected = inputs.expected_version(expected_version)
    if expected is not None and decision.version != expected:
        raise StaleRecord(MSG_STALE)
    if decision.campaign.state != "open":
        raise ValidationFailed(MSG_CLOSED)
    if decision.signed_off_at is not None:
        raise ValidationFailed(MSG_SIGNED_OFF)
    if outcome not in OUTCOMES:
        raise _invalid("outcome", MSG_OUTCOME)
    text = (comment or "").strip()
    if outcome in NEEDS_COMMENT and not text:
        raise _invalid("comment", MSG_COMMENT_REQUIRED)
    if len(text) > TEXT_LIMIT:
        raise _invalid("comment", MSG_TOO_LONG, limit=TEXT_LIMIT)
    if outcome == "revoke" and decision.grant.state not in grants.CHANGES["revoke"].sources:
        raise _invalid("outcome", MSG_CANNOT_REVOKE, state=grants.STATE_NAMES[decision.grant.state])
    decision.outcome, decision.comment = outcome, text or None
    decision.reviewer_id, decision.decided_at = actor.user_id, clock.now
    before, after = audit.changes(decision)
    session.flush()
    audit.record(session, "ReviewDecision.decide", actor_id=actor.user_id, obj=decision,
                 before=before, after=after)
    return decision


@dataclass(frozen=True)
class SignOff:
    """What a sign-off did."""

    kept: int = 0
    revoked: int = 0
    corrections: int = 0  # data-change requests opened for Personnel
    already_ended: int = 0  # revocations of grants that had ended meanwhile

    @property
    def total(self) -> int:
        return self.kept + self.revoked + self.corrections + self.already_ended


@conflicts_are_stale(MSG_STALE)
def sign_off(session: Session, actor: Actor, campaign_id, clock: Clock) -> SignOff:
    """Apply every decision the actor took in this review and has not signed off yet."""
    pk = inputs.as_id(campaign_id)
    campaign = session.get(ReviewCampaign, pk) if pk is not None else None
    condition = reviewable(session, actor) if campaign is not None else None
    if condition is None:
        raise NotFound(MSG_CAMPAIGN_NOT_FOUND)
    if campaign.state != "open":
        raise ValidationFailed(MSG_CLOSED)
    ids = list(session.scalars(
        select(ReviewDecision.id).where(
            condition, ReviewDecision.campaign_id == campaign.id, ReviewDecision.reviewer_id == actor.user_id,
            ReviewDecision.signed_off_at.is_(None), ReviewDecision.outcome != "pending")
        .order_by(ReviewDecision.id)))
    # Locked and read again: the same reviewer signing off in two tabs applies each decision once.
    ids = _claim(session, select(ReviewDecision.id).where(ReviewDecision.id.in_(ids)).order_by(ReviewDecision.id),
                 None, skip_locked=False)
    decisions = [d for d in session.scalars(
        select(ReviewDecision).where(ReviewDecision.id.in_(ids)).order_by(ReviewDecision.id)
        .execution_options(populate_existing=True)).unique()
        if d.signed_off_at is None and d.reviewer_id == actor.user_id and d.outcome != "pending"]
    if not decisions:
        raise ValidationFailed(MSG_NOTHING_TO_SIGN)
    ids = [d.id for d in decisions]
    counts = {"kept": 0, "revoked": 0, "corrections": 0, "already_ended": 0}
    for decision in decisions:
        counts[_apply(session, actor, campaign, decision, clock)] += 1
        decision.signed_off_at = decision.applied_at = clock.now
    session.flush()
    audit.record(session, "ReviewCampaign.sign_off", actor_id=actor.user_id, obj=campaign,
                 unit_id=campaign.unit_id, after={**counts, "decisions": ids})
    return SignOff(**counts)


def _apply(session: Session, actor: Actor, campaign: ReviewCampaign, decision: ReviewDecision,
           clock: Clock) -> str:
    """Make one signed-off decision take effect; the name of what it did."""
    grant = decision.grant
    after = {"outcome": decision.outcome}
    if decision.outcome == "revoke" and grant.state in ENDED_STATES:
        done = "already_ended"
    elif decision.outcome == "revoke":
        grants.end_as_decided(session, grant, "revoke", decision.comment, clock,
                              actor_user_id=actor.user_id, unit_id=campaign.unit_id)
        done = "revoked"
    elif decision.outcome == "fix_data":
        change = data_changes.open_for_review(session, decision.officer, decision.comment,
                                              campaign_name=campaign.name, reviewer_user_id=actor.user_id)
        after["data_change_request_id"] = change.id
        done = "corrections"
    else:
        done = "kept"
    after["grant_state"] = grant.state
    audit.record(session, "ReviewDecision.apply", actor_id=actor.user_id, obj=decision, after=after)
    return done


# -- the due date --------------------------------------------------------------------------------
@dataclass
class CloseReport:
    """What one call of close_due_campaigns did (add them up over a run)."""

    closed: int = 0
    not_reviewed: int = 0  # items the campaign's rule decided
    suspended: int = 0
    started: int = 0  # next campaigns of recurring ones
    worked: bool = False  # a due campaign was found (call again)
    job_run: JobRun | None = None

    def __add__(self, other: "CloseReport") -> "CloseReport":
        counted = {f.name: getattr(self, f.name) + getattr(other, f.name)
                   for f in fields(self) if f.name not in ("worked", "job_run")}
        return CloseReport(**counted, worked=self.worked or other.worked, job_run=other.job_run or self.job_run)

    def summary(self) -> dict:
        return {"closed": self.closed, "not_reviewed": self.not_reviewed, "suspended": self.suspended,
                "started": self.started}

    def __str__(self) -> str:
        return (f"campaigns closed {self.closed}, items not reviewed {self.not_reviewed}, "
                f"grants suspended {self.suspended}, campaigns started {self.started}")


def not_reviewed_reason(due_on: date) -> str:
    """Stored on a grant the rule suspended; people of both languages read it."""
    return f"ไม่ได้รับการตรวจสอบภายใน {thai_date(due_on)} (not reviewed by {due_on.isoformat()})"


def _claim(session: Session, ids_query, limit: int | None, *, skip_locked: bool) -> list[int]:
    """Ids locked for this transaction on PostgreSQL (SQLite serialises writers anyway)."""
    query = ids_query.with_for_update(skip_locked=skip_locked)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def close_due_campaigns(session: Session, clock: Clock, *, limit: int = 500,
                        job_run: JobRun | None = None) -> CloseReport:
    """One batch of the due-date job: claim one campaign past its due date, apply its rule to up to
    `limit` items nobody signed off, and close it once none is left (then start its next one).

    Idempotent: only open campaigns past their due date and items not yet applied are selected,
    and each batch changes them so they no longer are. Safe on several servers: a campaign is
    claimed with FOR UPDATE SKIP LOCKED, so another run works on another campaign meanwhile. The
    JobRun is made on the first campaign found (a run that finds nothing writes nothing) and
    passed back in `job_run` for the next call. The caller commits after each call.
    """
    ids = _claim(session, select(ReviewCampaign.id).where(
        ReviewCampaign.state == "open", ReviewCampaign.due_on < clock.today,
    ).order_by(ReviewCampaign.due_on, ReviewCampaign.id), 1, skip_locked=True)
    if not ids:
        return CloseReport(job_run=job_run)
    campaign = session.scalars(select(ReviewCampaign).where(ReviewCampaign.id == ids[0])
                               .execution_options(populate_existing=True)).one()
    if job_run is None:
        job_run = JobRun(kind="close_campaigns", state="running", started_at=clock.now)
        session.add(job_run)
        session.flush()
    # Waiting for a reviewer signing off right now: what they sign off is theirs, not the rule's.
    batch = _claim(session, select(ReviewDecision.id).where(
        ReviewDecision.campaign_id == campaign.id, ReviewDecision.signed_off_at.is_(None),
        ReviewDecision.applied_at.is_(None),
    ).order_by(ReviewDecision.id), limit, skip_locked=False)
    suspended = _apply_rule(session, campaign, batch, clock, job_run.id)
    report = CloseReport(not_reviewed=len(batch), suspended=suspended, worked=True, job_run=job_run)
    if len(batch) < limit:
        _close(session, campaign, clock, job_run.id)
        report.closed = 1
        report.started = 1 if _start_next(session, campaign, clock, job_run.id) is not None else 0
    return report


def _apply_rule(session: Session, campaign: ReviewCampaign, decision_ids: list[int], clock: Clock,
                job_run_id: int) -> int:
    """The campaign's rule for these items nobody signed off; the number of grants suspended."""
    if not decision_ids:
        return 0
    suspended = 0
    if campaign.undecided_rule == "suspend":
        grant_ids = select(ReviewDecision.grant_id).where(ReviewDecision.id.in_(decision_ids))
        # Locked, waiting for a concurrent change of the same grant: every one of them must stop.
        locked = _claim(session, select(Grant.id).where(Grant.id.in_(grant_ids), Grant.state == "active")
                        .order_by(Grant.id), None, skip_locked=False)
        reason = not_reviewed_reason(campaign.due_on)
        for grant in session.scalars(select(Grant).where(Grant.id.in_(locked)).order_by(Grant.id)
                                     .execution_options(populate_existing=True)).unique():
            if grant.state == "active":
                grants.end_as_decided(session, grant, "suspend", reason, clock, actor_user_id=None,
                                      unit_id=campaign.unit_id, job_run_id=job_run_id)
                suspended += 1
    # Kept or suspended, the item is settled: it is never picked up again.
    session.execute(update(ReviewDecision).where(ReviewDecision.id.in_(decision_ids))
                    .values(applied_at=clock.now, version=ReviewDecision.version + 1)
                    .execution_options(synchronize_session=False))
    return suspended


def _close(session: Session, campaign: ReviewCampaign, clock: Clock, job_run_id: int) -> None:
    total, signed_off = session.execute(
        select(func.count(ReviewDecision.id), func.count(ReviewDecision.signed_off_at))
        .where(ReviewDecision.campaign_id == campaign.id)).one()
    counts = {"not_reviewed": total - signed_off, "signed_off": signed_off}
    campaign.state, campaign.closed_at, campaign.job_run_id = "closed", clock.now, job_run_id
    session.flush()
    audit.record(session, "ReviewCampaign.close", obj=campaign, unit_id=campaign.unit_id, job_run_id=job_run_id,
                 before={"state": "open"},
                 after={"state": "closed", "undecided_rule": campaign.undecided_rule,
                        "not_reviewed": counts.get("not_reviewed", 0), "signed_off": counts.get("signed_off", 0)})
    _mail_closed(session, campaign, counts.get("not_reviewed", 0))


def next_due_date(campaign: ReviewCampaign, today: date) -> date | None:
    """A period after the campaign's due date, and after today (a run that comes late skips periods)."""
    step = PERIODS.get(campaign.recurrence)
    if step is None:
        return None
    periods = 1
    while campaign.due_on + step * periods <= today:
        periods += 1
    return campaign.due_on + step * periods


def _start_next(session: Session, campaign: ReviewCampaign, clock: Clock, job_run_id: int) -> ReviewCampaign | None:
    due_on = next_due_date(campaign, clock.today)
    if due_on is None:
        return None
    following = ReviewCampaign(
        name=campaign.name, unit_id=campaign.unit_id, starts_on=clock.today, due_on=due_on, state="open",
        undecided_rule=campaign.undecided_rule, recurrence=campaign.recurrence,
        heads_review=campaign.heads_review, previous_id=campaign.id, created_by_id=campaign.created_by_id)
    _open(session, following, actor_user_id=None, job_run_id=job_run_id)
    return following


def finish_run(session: Session, job_run: JobRun, report: CloseReport, clock: Clock,
               error: str | None = None) -> None:
    """The run's end: its counts, or what stopped it."""
    job_run.state = "failed" if error else "done"
    job_run.finished_at = clock.now
    job_run.processed = report.not_reviewed
    job_run.summary = report.summary()
    job_run.error = error


# -- progress and results ------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewerProgress:
    user_id: int
    name: str
    decided: int
    signed_off: int


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    signed_off: int
    outcomes: dict
    reviewers: tuple[ReviewerProgress, ...]

    @property
    def decided(self) -> int:
        return self.total - self.pending

    @property
    def percent_decided(self) -> int:
        return round(100 * self.decided / self.total) if self.total else 100


def progress(session: Session, campaign_id: int) -> Progress:
    """Decided, pending and signed-off items, by outcome and by reviewer (three statements)."""
    of_campaign = ReviewDecision.campaign_id == campaign_id
    outcomes, signed = {}, 0
    for outcome, count, signed_count in session.execute(
            select(ReviewDecision.outcome, func.count(ReviewDecision.id), func.count(ReviewDecision.signed_off_at))
            .where(of_campaign).group_by(ReviewDecision.outcome)):
        outcomes[outcome] = count
        signed += signed_count
    rows = session.execute(
        select(ReviewDecision.reviewer_id, func.count(ReviewDecision.id),
               func.count(ReviewDecision.signed_off_at))
        .where(of_campaign, ReviewDecision.reviewer_id.isnot(None), ReviewDecision.outcome != "pending")
        .group_by(ReviewDecision.reviewer_id)).all()
    names = reviewer_names(session, [row[0] for row in rows])
    reviewers = tuple(sorted((ReviewerProgress(user_id, names.get(user_id, str(user_id)), decided, signed_off)
                              for user_id, decided, signed_off in rows), key=lambda r: r.name))
    return Progress(total=sum(outcomes.values()), pending=outcomes.get("pending", 0), signed_off=signed,
                    outcomes=outcomes, reviewers=reviewers)


def reviewer_names(session: Session, user_ids) -> dict[int, str]:
    """user id -> rank and name of their officer record (the login name without one)."""
    wanted = sorted({u for u in user_ids if u is not None})
    if not wanted:
        return {}
    names = {user.id: user.username for user in session.scalars(select(User).where(User.id.in_(wanted)))}
    for officer in session.scalars(select(Officer).where(Officer.user_id.in_(wanted))).unique():
        names[officer.user_id] = str(officer)
    return names


def results(session: Session, campaign_id: int) -> list[ReviewDecision]:
    """Every item of the review with its grant and officer (eager: one statement)."""
    return list(session.scalars(
        select(ReviewDecision).join(Officer, ReviewDecision.officer_id == Officer.id)
        .where(ReviewDecision.campaign_id == campaign_id)
        .order_by(thai(Officer.first_name_th), thai(Officer.last_name_th), ReviewDecision.id)).unique())


def waiting_sign_off(session: Session, actor: Actor) -> dict[int, int]:
    """campaign id -> how many of the actor's decisions wait for their sign-off (open reviews)."""
    condition = waiting_for_review(session, actor)
    if condition is None:
        return {}
    return dict(session.execute(
        select(ReviewDecision.campaign_id, func.count(ReviewDecision.id))
        .where(condition, ReviewDecision.reviewer_id == actor.user_id, ReviewDecision.outcome != "pending")
        .group_by(ReviewDecision.campaign_id)).all())


# -- mail ----------------------------------------------------------------------------------------
def _mail_reviewers(session: Session, campaign: ReviewCampaign, items: int) -> None:
    recipients = {u.id: u.email for u in command_staff(session, COMMAND_TECH, [campaign.unit_id]) if u.email}
    if campaign.heads_review:
        heads = command_heads(session, campaign.unit_id).head_units
        for user in session.scalars(select(User).join(Officer, Officer.user_id == User.id)
                                    .where(Officer.id.in_(sorted(heads)), User.active.is_(True))):
            if user.email:
                recipients[user.id] = user.email
    due_th, due_en = thai_date(campaign.due_on, "long"), campaign.due_on.isoformat()
    subject = f"[Sitthi] การตรวจสอบสิทธิ์: {campaign.name} / Rights review started"
    body = (f"เริ่มการตรวจสอบสิทธิ์ {campaign.name} ของ {campaign.unit} ({items} รายการ) "
            f"ขอให้ตรวจสอบและยืนยันผลภายใน {due_th}\n{TO_REVIEW_LINK}\n\n"
            f"The rights review {campaign.name} of {campaign.unit} has started ({items} items). "
            f"Please review and sign off by {due_en}.\n{TO_REVIEW_LINK}\n")
    for user_id, email in sorted(recipients.items()):
        notifications.queue(session, recipient_email=email, recipient_user_id=user_id, subject=subject, body=body)


def _mail_closed(session: Session, campaign: ReviewCampaign, not_reviewed: int) -> None:
    rule_th = "คงสิทธิ์ไว้" if campaign.undecided_rule == "keep" else "ระงับสิทธิ์"
    rule_en = "kept" if campaign.undecided_rule == "keep" else "suspended"
    link = f"{CAMPAIGN_LINK}{campaign.id}"
    subject = f"[Sitthi] ปิดการตรวจสอบสิทธิ์: {campaign.name} / Rights review closed"
    body = (f"การตรวจสอบสิทธิ์ {campaign.name} ของ {campaign.unit} ปิดแล้ว "
            f"รายการที่ไม่ได้ตรวจสอบ {not_reviewed} รายการ: {rule_th}\n{link}\n\n"
            f"The rights review {campaign.name} of {campaign.unit} is closed. "
            f"Items not reviewed: {not_reviewed}, {rule_en}.\n{link}\n")
    for user in command_staff(session, COMMAND_TECH, [campaign.unit_id]):
        notifications.queue(session, recipient_email=user.email, recipient_user_id=user.id,
                            subject=subject, body=body)


# -- the rights audit's flags ----------------------------------------------------------------------
def audit_flags(session: Session, grant_ids, today: date) -> dict[int, list]:
    """grant id -> the rights-audit flags shown beside each review item and in the export."""
    return rights_audit.grant_flags(session, grant_ids, today)
