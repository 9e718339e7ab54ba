"""Display names for stored codes (states, kinds, actors), translated at render time."""
from flask_babel import lazy_gettext as _l

from app.workflow import machine

UNIT_KIND = {
    "national": _l("National HQ"),
    "command": _l("Command (Bureau)"),
    "division": _l("Division / Provincial Police"),
    "station": _l("Station"),
    "other": _l("Other"),
}
RANK_CLASS = {"commissioned": _l("Commissioned"), "non_commissioned": _l("Non-commissioned")}
OFFICER_STATUS = {
    "active": _l("Active"),
    "retired": _l("Retired"),
    "transferred_out": _l("Transferred out"),
    "suspended": _l("Suspended"),
    "deceased": _l("Deceased"),
}
REQUEST_KIND = {
    "new_account": _l("New account"),
    "account_renewal": _l("Account renewal"),
    "external_search": _l("External search rights"),
    "external_search_renewal": _l("Search-rights renewal"),
    "additional_functions": _l("Additional functions"),
    "temporary_assignment": _l("Temporary assignment to another unit"),
    "return_home_unit": _l("Return to home unit"),
}
REQUEST_KIND_HELP = {
    "new_account": _l("A first account in the police information system (CRIMES)."),
    "account_renewal": _l("Keep your CRIMES account after it expires."),
    "external_search": _l("Search other agencies' data: civil registration, vehicles, companies, social security, ..."),
    "external_search_renewal": _l("Renew search rights that are about to expire."),
    "additional_functions": _l("Extra CRIMES functions, including becoming technology or personnel staff."),
    "temporary_assignment": _l("Work for another unit for a while (ช่วยราชการ)."),
    "return_home_unit": _l("End a temporary assignment and return to your home unit."),
}
REQUEST_STATE = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned for correction"),
    "rejected": _l("Rejected"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}
ITEM_STATE = {
    "pending": _l("Pending"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "activated": _l("Activated by agency"),
    "activation_refused": _l("Activation refused"),
}
STAGE_ACTOR = {
    "certifying_head": _l("Certifying unit head"),
    "central_it": _l("Central IT Center"),
    "command_tech": _l("Command technology staff"),
    "agency": _l("Data-owner agency"),
}
ESCALATION_TARGET = {
    "superior_head": _l("The head of the unit above the named head's"),
    "user": _l("A named user"),
    "role": _l("A role (of the request's command, for command technology staff)"),
}
ESCALATION_ROLE = {
    "CentralIT": _l("Central IT Center"),
    "CommandTech": _l("Command technology staff"),
}
ATTACHMENT_KIND = {
    "memo": _l("Memo signed by the unit head"),
    "id_card_copy": _l("Certified copy of government ID card"),
    "duty_certificate": _l("Duty certificate"),
    "other": _l("Other document"),
}
REQUIREMENT_CONDITION = {
    "always": _l("Always"),
    "duty_differs": _l("When the duty differs from the position's line"),
}
GRANT_STATE = {
    "pending_activation": _l("Pending agency activation"),
    "active": _l("Active"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
    "suspended": _l("Suspended"),
}
NOTIFICATION_STATE = {"queued": _l("Queued"), "sent": _l("Sent"), "failed": _l("Failed")}
DELEGATION_STATE = {"upcoming": _l("Upcoming"), "in_force": _l("In force"), "ended": _l("Ended")}
NOTICE_STATE = {"pending": _l("Pending"), "confirmed": _l("Confirmed by the agency")}
IMPORT_KIND = {
    "import_personnel": _l("Officers (POLIS personnel export)"),
    "import_units": _l("Units (organisation tree)"),
    "import_usage": _l("Usage (query counts per officer and source)"),
}
JOB_STATE = {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Done"), "failed": _l("Failed")}
CAMPAIGN_STATE = {"preparing": _l("Being prepared"), "open": _l("Open"), "closed": _l("Closed"),
                  "failed": _l("Could not be prepared")}
REVIEW_OUTCOME = {
    "pending": _l("Not yet reviewed"),
    "keep": _l("Keep"),
    "revoke": _l("Revoke"),
    "fix_data": _l("Fix personnel data"),
}
UNDECIDED_RULE = {
    "keep": _l("Keep the permission"),
    "suspend": _l("Suspend the permission"),
}
RECURRENCE = {"none": _l("Once"), "quarterly": _l("Every quarter"), "yearly": _l("Every year")}
DATA_CHANGE_FIELD = {
    "rank": _l("Rank"),
    "name": _l("Name"),
    "position": _l("Position"),
    "position_level": _l("Position level"),
    "duty_line": _l("Duty line"),
    "home_unit": _l("Home unit"),
    "status": _l("Status"),
    "other": _l("Other"),
}
DATA_CHANGE_STATE = {"open": _l("Waiting for Personnel"), "done": _l("Corrected"), "refused": _l("Refused")}


TRANSITION = {
    "submit": _l("Sent"),
    "resubmit": _l("Corrected and sent again"),
    "cancel": _l("Cancelled by the requester"),
    "return": _l("Returned for correction"),
    "reject": _l("Rejected"),
    "approve_item": _l("Item approved"),
    "reject_item": _l("Item rejected"),
    "activate": _l("Activated by the data-owner agency"),
    "refuse_activation": _l("Activation refused by the agency"),
    "remind": _l("Reminder sent: the request waits too long"),
    "escalate": _l("Escalated: the request waited too long"),
    "reassign": _l("Handed to the unit's next head"),
    "return_overdue": _l("Returned to the requester: it waited too long"),
}
# Timeline entries of the scheduled chasing sweep, which no person takes.
SYSTEM_TRANSITIONS = frozenset(name for name, t in machine.TRANSITIONS.items() if t.fired_by == machine.SYSTEM)
SYSTEM_ACTOR = _l("Sitthi (automatically)")
APPROVAL_BY_STAGE = {
    "certifying_head": _l("Certified by the unit head"),
    "central_it": _l("Approved by the Central IT Center"),
    "command_tech": _l("Done by the command technology staff"),
    "agency": _l("Activated by the data-owner agency"),
}


def transition_label(transition: str, stage_actor: str | None = None) -> str:
    """What a timeline entry says: an approval is named after the stage that gave it."""
    if transition == "approve":
        return str(APPROVAL_BY_STAGE.get(stage_actor, _l("Approved")))
    return label_of(TRANSITION, transition)


def choices(mapping: dict) -> list[tuple[str, object]]:
    return list(mapping.items())


def label_of(mapping: dict, code: str | None) -> str:
    return str(mapping.get(code, code or ""))


# The audit trail's actions ("Grant.suspend", "read") as an inspector reads them: what was done,
# to what. An action not listed shows as its code, so nothing is ever hidden.
AUDIT_OBJECT = {
    "AccessRequest": _l("request"), "RequestItem": _l("requested item"), "Grant": _l("permission"),
    "Officer": _l("officer"), "Unit": _l("unit"), "User": _l("login"), "Attachment": _l("attachment"),
    "DeactivationNotice": _l("deactivation notice"), "Delegation": _l("deputy"),
    "DataChangeRequest": _l("personnel-data correction"), "PersonnelChange": _l("personnel change"),
    "ReviewCampaign": _l("rights review"), "ReviewDecision": _l("review decision"), "JobRun": _l("job"),
    "Holiday": _l("holiday"), "DutyOrder": _l("duty order"), "DutyLine": _l("duty line"),
    "Rank": _l("rank"), "RankGroup": _l("rank group"), "PositionLevel": _l("position level"),
    "Agency": _l("agency"), "DataSource": _l("data source"), "SystemFunction": _l("system function"),
    "DataSharingAgreement": _l("data-sharing agreement"), "ApprovalChain": _l("approval chain"),
    "ApprovalStage": _l("approval stage"), "RequiredDocument": _l("required document"),
    "CommandFunction": _l("command function"), "RightsAudit": _l("rights audit"),
    "ImportReject": _l("import rejects"), "CommandGrant": _l("command permissions"),
    "ExpiringGrant": _l("expiring permissions"), "AuditEvent": _l("audit trail"),
}
AUDIT_VERB = {
    "create": _l("Added"), "update": _l("Changed"), "delete": _l("Deleted"),
    "submit": _l("Submitted"), "resubmit": _l("Resubmitted"), "cancel": _l("Cancelled"),
    "approve": _l("Approved"), "return": _l("Returned"), "reject": _l("Rejected"),
    "approve_item": _l("Approved"), "reject_item": _l("Rejected"), "activate": _l("Activated at the agency"),
    "refuse_activation": _l("Activation refused by the agency"), "assign": _l("Assigned"),
    "duty_order": _l("Duty order recorded on"), "extend": _l("Extended"), "reinstate": _l("Reinstated"),
    "replace": _l("Replaced"), "revoke": _l("Revoked"), "suspend": _l("Suspended"), "expire": _l("Expired"),
    "assignment": _l("Temporary assignment of"), "assignment_end": _l("Temporary assignment ended for"),
    "import_create": _l("Imported (new)"), "import_update": _l("Imported (changed)"),
    "handle": _l("Handled"), "open": _l("Opened"), "close": _l("Closed"), "sign_off": _l("Signed off"),
    "start": _l("Started"), "apply": _l("Applied"), "decide": _l("Decided"), "confirm": _l("Confirmed"),
    "done": _l("Corrected"), "refused": _l("Refused"), "queue": _l("Queued"), "deactivate": _l("Deactivated"),
    "create_admin": _l("Administrator created:"),
    "remind": _l("Reminder sent on"), "escalate": _l("Escalated"), "reassign": _l("Handed to the next head:"),
    "return_overdue": _l("Returned as overdue:"),
}
AUDIT_ACTION = {
    "login": _l("Logged in"), "login.failed": _l("Failed login"), "logout": _l("Logged out"),
    "password.changed": _l("Password changed"), "read": _l("Read personal data"),
    "print": _l("Printed a memo"), "download": _l("Downloaded a file"), "export": _l("Exported a list"),
    "JobRun.import_personnel": _l("Personnel import ran"), "JobRun.import_units": _l("Unit import ran"),
    "JobRun.import_usage": _l("Usage import ran"), "JobRun.personnel_rules": _l("Personnel rules applied"),
    "JobRun.close_campaigns": _l("Rights reviews closed"),
}


def audit_action_label(code: str | None) -> str:
    """"Grant.suspend" -> "Suspended: permission"; "read" -> "Read personal data"."""
    if not code:
        return ""
    if code in AUDIT_ACTION:
        return str(AUDIT_ACTION[code])
    model, _, verb = code.partition(".")
    if verb in AUDIT_VERB or model in AUDIT_OBJECT:
        return f"{AUDIT_VERB.get(verb, verb)} {AUDIT_OBJECT.get(model, model)}".strip()
    return code


CHECK_STATUS = {"pass": _l("Pass"), "warn": _l("Warning"), "fail": _l("Fail")}
APPROVE_BUTTON = {
    "certifying_head": _l("Certify"),
    "central_it": _l("Approve"),
    "command_tech": _l("Done"),
}


def register(app) -> None:
    """Template helpers that name stored codes in the reader's language."""
    from app.errors import translate

    app.jinja_env.globals.update(
        check_text=lambda check: translate(check.message, check.params),
        kind_label=lambda code: label_of(REQUEST_KIND, code),
        state_label=lambda code: label_of(REQUEST_STATE, code),
        item_state_label=lambda code: label_of(ITEM_STATE, code),
        grant_state_label=lambda code: label_of(GRANT_STATE, code),
        attachment_kind_label=lambda code: label_of(ATTACHMENT_KIND, code),
        stage_actor_label=lambda code: label_of(STAGE_ACTOR, code),
        check_label=lambda code: label_of(CHECK_STATUS, code),
        approve_label=lambda code: label_of(APPROVE_BUTTON, code) or str(_l("Approve")),
    )
