"""Every role and its permissions, declared once and synced by `flask sitthi init`.

A role is a set of (permission, resource) pairs on the resources of app/views (read, write,
delete). Menu entries follow from reading: a role sees an entry when it may read its view.
Admin holds every permission there is. Roles are cumulative where the job is: every role is also
an Officer, because every user of Sitthi is an officer who may ask for rights.
"""
READ, WRITE, DELETE = "can_read", "can_write", "can_delete"

# FAB's own pages every logged-in user needs: own profile and own password.
SELF_SERVICE = [
    ("can_userinfo", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    # The REST API's documentation, for officers who use the API.
    ("can_get", "OpenApi"),
    ("can_show", "SwaggerView"),
]


def _grant(resources: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    return [(perm, resource) for resource, perms in resources.items() for perm in perms]


# Every officer may ask for rights and may be named as the head who certifies a request; the
# request service decides which requests each one may act on.
OFFICER = SELF_SERVICE + _grant({
    "MyRequest": (READ,),
    "MyGrant": (READ,),
    "RequestDesk": (READ, WRITE),
    "ToCertify": (READ, WRITE),
    # A head names who certifies in their place while away (the service allows only their own).
    "MyDeputy": (READ, WRITE),
    "Dashboard": (READ,),
    # A unit head reviews their officers' permissions when a rights review asks them to (the
    # review service decides which items); every officer reports errors in their own record.
    "ToReview": (READ, WRITE),
    "MyRecord": (READ, WRITE),
    # What the bell counts: one's own notifications, read in the app.
    "MyNotification": (READ,),
    # The files one exported (each list's own permission decides who may export it).
    "MyExport": (READ,),
    # The help menu: the guides of every role.
    "Help": (READ,),
    # Checking a printed memo or permission certificate by its verification code or QR code, and
    # printing the certificate of a permission one may see (the scope decides which).
    "Verify": (READ,),
    "GrantCertificate": (READ,),
    # Group requests: a unit head files for their officers (the group service refuses anyone who
    # heads nobody); CommandTech and Personnel for their command. Each reads the groups it may see.
    "GroupRequest": (READ, WRITE),
})

ROLES: dict[str, list[tuple[str, str]]] = {
    "Officer": OFFICER,
    "CommandTech": OFFICER + _grant({
        "AccountRequests": (READ, WRITE),
        "AccessRequest": (READ,),
        "RequestItem": (READ,),
        "Attachment": (READ,),
        "Decision": (READ,),
        "Grant": (READ,),
        # Assign, suspend, revoke, extend: app.services.grants limits each to their own command.
        "CommandGrant": (READ, WRITE),
        "AssignFunction": (READ, WRITE),
        # Grants of their command that end within the reminder window, soonest first.
        "ExpiringGrant": (READ,),
        "SystemFunction": (READ,),
        "Officer": (READ,),
        "Unit": (READ,),
        # Start a rights review of their own command; items are decided from "To review".
        "ReviewCampaign": (READ, WRITE),
        "ReviewDecision": (READ,),
        # Movers, leavers and flags of their command: read, and mark handled.
        "PersonnelChange": (READ, WRITE),
        # Their own command's rights audit; revoke a flagged grant from it.
        "RightsAudit": (READ, WRITE),
        # The duty orders (คำสั่ง) of their command's units, cited by function grants.
        "DutyOrder": (READ, WRITE, DELETE),
    }),
    "Personnel": OFFICER + _grant({
        "Officer": (READ, WRITE),
        "Unit": (READ,),
        "PersonnelChange": (READ,),
        # Answer the data-change requests of their command's officers.
        "DataChangeRequest": (READ, WRITE),
        # Import POLIS exports of their own command's officers (app.views.imports).
        "Import": (READ, WRITE),
    }),
    "CentralIT": OFFICER + _grant({
        "ToVerify": (READ, WRITE),
        "AwaitingActivation": (READ, WRITE),
        "DeactivationNotice": (READ, WRITE),
        "AccessRequest": (READ,),
        "RequestItem": (READ,),
        "Attachment": (READ,),
        "Decision": (READ,),
        "Grant": (READ,),
        "Officer": (READ,),
        "Unit": (READ,),
        "DataSource": (READ,),
        "Agency": (READ,),
        "DataSharingAgreement": (READ, WRITE),
        # Linkage Center: each agency's super user, kept current by CentralIT; the letters
        # (agreements' and appointments') download for the nationwide roles only.
        "AgencySuperUser": (READ, WRITE),
        "LinkageLetter": (READ,),
        "Holiday": (READ,),
        "PersonnelChange": (READ,),
        # Start a rights review of any command, and follow its results.
        "ReviewCampaign": (READ, WRITE),
        "ReviewDecision": (READ,),
        # Read any command's rights audit; revoking is the command's own staff's.
        "RightsAudit": (READ,),
        "DutyOrder": (READ,),
        # Import officers, units and usage counts nationwide.
        "Import": (READ, WRITE),
    }),
    "Auditor": OFFICER + _grant({
        "AccessRequest": (READ,),
        "RequestItem": (READ,),
        "Attachment": (READ,),
        "Decision": (READ,),
        "Grant": (READ,),
        "CommandGrant": (READ,),
        "ExpiringGrant": (READ,),
        "DeactivationNotice": (READ,),
        "Officer": (READ,),
        "Unit": (READ,),
        "AuditEvent": (READ,),
        "ReviewCampaign": (READ,),
        "ReviewDecision": (READ,),
        "PersonnelChange": (READ,),
        "RightsAudit": (READ,),
        "DutyOrder": (READ,),
        "Import": (READ,),
        # The Linkage Center's agreements and super users, and their letters: read only.
        "DataSharingAgreement": (READ,),
        "AgencySuperUser": (READ,),
        "LinkageLetter": (READ,),
    }),
}
ADMIN = "Admin"
ALL_ROLES = (*ROLES, ADMIN)


def menu_permissions(role_permissions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """menu_access for each entry whose view the role may read, and for its category."""
    from app.views.menu import menu_items

    readable = {resource for perm, resource in role_permissions if perm == READ}
    pairs: set[tuple[str, str]] = set()
    for category, name, view in menu_items():
        if view.class_permission_name in readable:
            pairs.add(("menu_access", name))
            pairs.add(("menu_access", category))
    return sorted(pairs)


def permissions_of(role: str) -> set[tuple[str, str]]:
    declared = ROLES[role]
    return set(declared) | set(menu_permissions(declared))
