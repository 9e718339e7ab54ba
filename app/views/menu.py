"""The menu, grouped by work. Each entry names the view whose read permission shows it."""
from flask_babel import lazy_gettext as _l

from app.views import (
    audit,
    catalog,
    dashboard,
    data_changes,
    deactivations,
    delegations,
    export_runs,
    grant_admin,
    grant_expiry,
    group_requests,
    imports,
    inboxes,
    linkage,
    notifications,
    permissions,
    personnel,
    personnel_changes,
    request_desk,
    requests,
    reviews,
    rights_audit,
)

# (category name, label, icon, [(item name, label, view class, icon)])
MENU = [
    ("My Work", _l("My requests"), "fa-user", [
        ("New Request", _l("New request"), request_desk.RequestDeskView, "fa-plus"),
        ("My Requests", _l("My requests"), requests.MyRequestView, "fa-file-text-o"),
        ("Group Requests", _l("Group requests"), group_requests.GroupRequestView, "fa-users"),
        ("My Permissions", _l("My permissions"), permissions.MyGrantView, "fa-key"),
        ("To Certify", _l("To certify"), inboxes.ToCertifyView, "fa-pencil-square-o"),
        ("To Review", _l("To review"), reviews.ToReviewView, "fa-check-square"),
        ("My Record", _l("My record"), data_changes.MyRecordView, "fa-id-badge"),
        ("My Deputies", _l("My deputies"), delegations.MyDeputyView, "fa-user-secret"),
        ("My Notifications", _l("My notifications"), notifications.MyNotificationView, "fa-bell"),
        ("My Exports", _l("My exports"), export_runs.ExportRunView, "fa-download"),
    ]),
    ("Approvals", _l("Approvals"), "fa-check-square-o", [
        ("To Verify", _l("To verify"), inboxes.ToVerifyView, "fa-check"),
        ("Awaiting Activation", _l("Awaiting agency activation"), inboxes.AwaitingActivationView, "fa-hourglass-half"),
        ("Deactivation Notices", _l("Deactivation notices"), deactivations.DeactivationNoticeView, "fa-power-off"),
        ("Account Requests", _l("Account requests"), inboxes.AccountRequestView, "fa-user-plus"),
        ("Dashboard", _l("Dashboard"), dashboard.DashboardView, "fa-tachometer"),
        ("Requests", _l("All requests"), requests.AccessRequestView, "fa-inbox"),
        ("Request Items", _l("Request items"), requests.RequestItemView, "fa-list"),
        ("Attachments", _l("Attachments"), requests.AttachmentView, "fa-paperclip"),
        ("Decisions", _l("Decisions"), requests.DecisionView, "fa-gavel"),
    ]),
    ("Permissions", _l("Permissions"), "fa-key", [
        ("Grants", _l("Grants"), permissions.GrantView, "fa-unlock-alt"),
        ("Expiring Grants", _l("Expiring soon"), grant_expiry.ExpiringGrantView, "fa-clock-o"),
        ("Command Permissions", _l("Command permissions"), grant_admin.CommandGrantView, "fa-shield"),
        ("Assign Function", _l("Assign function"), grant_admin.AssignFunctionView, "fa-plus-square"),
        ("Duty Orders", _l("Duty orders"), grant_admin.DutyOrderView, "fa-file-text-o"),
    ]),
    ("Personnel", _l("Personnel"), "fa-users", [
        ("Officers", _l("Officers"), personnel.OfficerView, "fa-id-card-o"),
        ("Units", _l("Units"), personnel.UnitView, "fa-sitemap"),
        ("Personnel Changes", _l("Personnel changes"), personnel_changes.PersonnelChangeView, "fa-exchange"),
        ("Data Change Requests", _l("Data-change requests"), data_changes.DataChangeRequestView, "fa-pencil"),
        ("Imports", _l("Imports"), imports.ImportView, "fa-upload"),
    ]),
    ("Configuration", _l("Configuration"), "fa-cogs", [
        ("Data Sources", _l("Data sources"), catalog.DataSourceView, "fa-database"),
        ("Agencies", _l("Agencies"), catalog.AgencyView, "fa-building"),
        ("Data Sharing Agreements", _l("Data-sharing agreements"), catalog.AgreementView, "fa-handshake-o"),
        ("Agency Super Users", _l("Agency super users"), linkage.AgencySuperUserView, "fa-user-circle"),
        ("Data Fields", _l("Data fields"), linkage.DataFieldView, "fa-columns"),
        ("Justification Questions", _l("Justification questions"), linkage.JustificationQuestionView, "fa-question-circle"),
        ("System Functions", _l("System functions"), catalog.SystemFunctionView, "fa-th"),
        ("Approval Chains", _l("Approval chains"), catalog.ApprovalChainView, "fa-random"),
        ("Approval Stages", _l("Approval stages"), catalog.ApprovalStageView, "fa-step-forward"),
        ("Required Documents", _l("Required documents"), catalog.RequiredDocumentView, "fa-paperclip"),
        ("Ranks", _l("Ranks"), catalog.RankView, "fa-star"),
        ("Rank Groups", _l("Rank groups"), catalog.RankGroupView, "fa-star-half-o"),
        ("Duty Lines", _l("Duty lines"), catalog.DutyLineView, "fa-road"),
        ("Position Levels", _l("Position levels"), catalog.PositionLevelView, "fa-signal"),
        ("Holidays", _l("Holidays"), catalog.HolidayView, "fa-calendar"),
    ]),
    ("Audit", _l("Audit"), "fa-search", [
        ("Rights Audit", _l("Rights audit"), rights_audit.RightsAuditView, "fa-user-secret"),
        ("Audit Events", _l("Audit trail"), audit.AuditEventView, "fa-history"),
        ("Review Campaigns", _l("Rights reviews"), reviews.ReviewCampaignView, "fa-check-circle"),
        ("Review Decisions", _l("Review items"), reviews.ReviewDecisionView, "fa-check"),
        ("Notifications", _l("Mail outbox"), audit.NotificationView, "fa-envelope"),
    ]),
]


def menu_items():
    """Yield (category name, item name, view class) for every entry."""
    for category, _label, _icon, items in MENU:
        for name, _item_label, view, _item_icon in items:
            yield category, name, view
