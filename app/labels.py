"""Display names for stored codes (states, kinds, actors), translated at render time."""
from flask_babel import lazy_gettext as _l

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
ATTACHMENT_KIND = {
    "memo": _l("Memo signed by the unit head"),
    "id_card_copy": _l("Certified copy of government ID card"),
    "duty_certificate": _l("Duty certificate"),
    "other": _l("Other document"),
}
GRANT_STATE = {
    "pending_activation": _l("Pending agency activation"),
    "active": _l("Active"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
    "suspended": _l("Suspended"),
}
NOTIFICATION_STATE = {"queued": _l("Queued"), "sent": _l("Sent"), "failed": _l("Failed")}
CAMPAIGN_STATE = {"open": _l("Open"), "closed": _l("Closed")}
REVIEW_OUTCOME = {
    "pending": _l("Not yet reviewed"),
    "keep": _l("Keep"),
    "revoke": _l("Revoke"),
    "fix_data": _l("Fix personnel data"),
}


def choices(mapping: dict) -> list[tuple[str, object]]:
    return list(mapping.items())


def label_of(mapping: dict, code: str | None) -> str:
    return str(mapping.get(code, code or ""))
