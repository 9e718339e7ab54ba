"""Each role holds exactly the permissions its job needs: no more, no less."""
import pytest

from app.security.roles import ROLES, permissions_of

SELF_SERVICE = {
    ("can_userinfo", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_get", "OpenApi"),
    ("can_show", "SwaggerView"),
}
OFFICER_MENUS = {"My Work", "New Request", "My Requests", "Group Requests", "My Permissions", "To Certify",
                 "To Review", "My Record", "My Deputies", "My Notifications", "My Exports", "Approvals", "Dashboard"}
OFFICER_PERMS = {"MyRequest": "r", "MyGrant": "r", "RequestDesk": "rw", "ToCertify": "rw",
                 "ToReview": "rw", "MyRecord": "rw", "MyDeputy": "rw", "MyNotification": "r", "MyExport": "r", "Help": "r", "Verify": "r", "GrantCertificate": "r", "Dashboard": "r",
                 "GroupRequest": "rw"}


def _perms(resources: dict[str, str]) -> set[tuple[str, str]]:
    """{"Officer": "rw"} -> {("can_read", "Officer"), ("can_write", "Officer")}"""
    names = {"r": "can_read", "w": "can_write", "d": "can_delete"}
    return {(names[c], res) for res, codes in resources.items() for c in codes}


def _menus(names: set[str]) -> set[tuple[str, str]]:
    return {("menu_access", name) for name in names | OFFICER_MENUS}


# The whole permission design on one screen; a change here is a change of policy.
EXPECTED = {
    "Officer": SELF_SERVICE | _perms(OFFICER_PERMS) | _menus(set()),
    "CommandTech": SELF_SERVICE
    | _perms({
        **OFFICER_PERMS, "AccountRequests": "rw", "AccessRequest": "r", "RequestItem": "r",
        "Attachment": "r", "Decision": "r", "Grant": "r", "ExpiringGrant": "r", "SystemFunction": "r",
        "Officer": "r", "Unit": "r", "ReviewCampaign": "rw", "ReviewDecision": "r",
        "CommandGrant": "rw", "AssignFunction": "rw", "PersonnelChange": "rw", "RightsAudit": "rw",
        "DutyOrder": "rwd",
    })
    | _menus({
        "Approvals", "Account Requests", "Requests", "Request Items", "Attachments", "Decisions",
        "Permissions", "Grants", "Expiring Grants", "Configuration", "System Functions", "Personnel",
        "Officers", "Units", "Audit", "Review Campaigns", "Review Decisions",
        "Command Permissions", "Assign Function", "Personnel Changes", "Rights Audit", "Duty Orders",
    }),
    "Personnel": SELF_SERVICE
    | _perms({**OFFICER_PERMS, "Officer": "rw", "Unit": "r", "PersonnelChange": "r", "DataChangeRequest": "rw",
              "Import": "rw"})
    | _menus({"Personnel", "Officers", "Units", "Personnel Changes", "Data Change Requests", "Imports"}),
    "CentralIT": SELF_SERVICE
    | _perms({
        **OFFICER_PERMS, "ToVerify": "rw", "AwaitingActivation": "rw", "AccessRequest": "r",
        "RequestItem": "r",
        "Attachment": "r", "Decision": "r", "Grant": "r", "Officer": "r", "Unit": "r",
        "DataSource": "r", "Agency": "r", "DataSharingAgreement": "rw", "Holiday": "r",
        "DeactivationNotice": "rw", "PersonnelChange": "r", "ReviewCampaign": "rw", "ReviewDecision": "r",
        "RightsAudit": "r", "DutyOrder": "r",
        "Import": "rw",
        # Linkage Center: agencies' super users kept by CentralIT; the letters downloaded.
        "AgencySuperUser": "rw", "LinkageLetter": "r",
    })
    | _menus({
        "Approvals", "To Verify", "Awaiting Activation", "Requests", "Request Items",
        "Attachments", "Decisions", "Permissions",
        "Grants", "Personnel", "Officers", "Units", "Configuration", "Data Sources",
        "Agencies", "Data Sharing Agreements", "Holidays", "Deactivation Notices", "Personnel Changes",
        "Audit", "Review Campaigns", "Review Decisions", "Rights Audit", "Duty Orders", "Imports",
        "Agency Super Users",
    }),
    "Auditor": SELF_SERVICE
    | _perms({
        **OFFICER_PERMS, "AccessRequest": "r", "RequestItem": "r",
        "Attachment": "r", "Decision": "r", "Grant": "r", "ExpiringGrant": "r", "Officer": "r",
        "Unit": "r", "AuditEvent": "r", "ReviewCampaign": "r", "ReviewDecision": "r",
        "CommandGrant": "r", "DeactivationNotice": "r", "PersonnelChange": "r", "RightsAudit": "r",
        "DutyOrder": "r", "Import": "r",
        # Linkage Center: agreements and super users with their letters, read only.
        "DataSharingAgreement": "r", "AgencySuperUser": "r", "LinkageLetter": "r",
    })
    | _menus({
        "Approvals", "Requests", "Request Items", "Attachments", "Decisions", "Permissions",
        "Grants", "Expiring Grants", "Personnel", "Officers", "Units", "Audit", "Audit Events",
        "Review Campaigns", "Review Decisions", "Command Permissions", "Deactivation Notices",
        "Personnel Changes", "Rights Audit", "Duty Orders", "Imports",
        "Configuration", "Data Sharing Agreements", "Agency Super Users",
    }),
}


def _held(app, role_name):
    with app.app_context():
        role = app.appbuilder.sm.find_role(role_name)
        return {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}


@pytest.mark.parametrize("role_name", sorted(EXPECTED))
def test_role_holds_exactly_its_permissions(app, role_name):
    assert permissions_of(role_name) == EXPECTED[role_name]
    assert _held(app, role_name) == EXPECTED[role_name]


def test_every_declared_role_is_tested():
    assert set(ROLES) == set(EXPECTED)


def test_admin_holds_every_permission(app):
    with app.app_context():
        sm = app.appbuilder.sm
        everything = {(pv.permission.name, pv.view_menu.name)
                      for pv in sm.session.query(sm.permissionview_model)}
    assert _held(app, "Admin") == everything
    assert ("can_delete", "Officer") in everything


def test_public_role_holds_nothing(app):
    assert _held(app, "Public") == set()


def test_no_role_can_change_the_audit_trail(app):
    with app.app_context():
        sm = app.appbuilder.sm
        audit = {pv.permission.name for pv in sm.session.query(sm.permissionview_model)
                 if pv.view_menu.name == "AuditEvent"}
    assert audit == {"can_read"}


def test_init_is_idempotent_and_repairs_drift(app):
    """A permission added to a role by hand is taken away by the next `flask sitthi init`."""
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("Officer")
        role.permissions.append(sm.find_permission_view_menu("can_delete", "Officer"))
        sm.session.commit()
    assert ("can_delete", "Officer") in _held(app, "Officer")
    result = app.test_cli_runner().invoke(args=["sitthi", "init"])
    assert result.exit_code == 0, result.output
    assert _held(app, "Officer") == EXPECTED["Officer"]
    result = app.test_cli_runner().invoke(args=["sitthi", "init"])
    assert "reference data added: none" in result.output


def test_init_says_only_what_it_did_and_drops_permissions_no_screen_declares(app, caplog):
    """A deploy's output reads as a report, not as failures: no "Refused to delete" lines."""
    with app.app_context():
        sm = app.appbuilder.sm
        stale = sm.add_permission_view_menu("can_export", "ScreenRemovedLastYear")
        sm.add_permission_role(sm.find_role("Auditor"), stale)
        sm.session.commit()
    with caplog.at_level("WARNING"):
        result = app.test_cli_runner().invoke(args=["sitthi", "init"])
    assert result.exit_code == 0, result.output
    assert "Refused" not in result.output + caplog.text
    assert "permissions: 0 new, 1 no screen declares any more removed" in result.output
    with app.app_context():
        sm = app.appbuilder.sm
        assert sm.find_permission_view_menu("can_export", "ScreenRemovedLastYear") is None
        assert sm.find_view_menu("ScreenRemovedLastYear") is None
        # Every screen's own permissions are still there and held as declared.
        declared = sm.declared_permissions(app.appbuilder.baseviews, app.appbuilder.menu)
        assert len(sm.find_role("Admin").permissions) == len(declared)
    assert _held(app, "Officer") == EXPECTED["Officer"]
