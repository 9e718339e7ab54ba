"""Sitthi's security manager: FAB's, plus the role sync that `flask sitthi init` runs."""
from blinker import Namespace
from flask import abort, flash, g, has_request_context, request, session
from flask_appbuilder import expose
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import (
    PermissionModelView,
    PermissionViewModelView,
    RoleModelView,
    UserDBModelView,
    UserGroupModelView,
    ViewMenuModelView,
)
from flask_babel import lazy_gettext
from flask_jwt_extended import current_user as current_user_jwt
from flask_login import current_user
from sqlalchemy import Date, String, bindparam, cast, exists, func, or_, select
from sqlalchemy.orm import joinedload

from app.errors import translate
from app.input_guard import bound_form_input, is_bulk_action
from app.models.login import LoginGeneration
from app.models.reference_stamp import REFERENCE_TABLES
from app.reference_cache import kept, remember_stamps, stamp_columns
from app.security import sessions
from app.security.jwt_errors import answer_token_errors
from app.security.roles import ADMIN, ROLES, permissions_of
from app.security.scope import COMMAND_TECH, PERSONNEL

# Menu entries shown only to who certifies requests (see _certifies).
CERTIFIER_MENUS = frozenset({"To Certify"})
# ... and to who may file a group request (see _files_groups).
GROUP_FILER_MENUS = frozenset({"Group Requests"})
GROUP_FILER_ROLES = frozenset({COMMAND_TECH, PERSONNEL, ADMIN})

# Every login, failed login and logout, sent with (action, user, remote_addr). The audit trail
# listens (connected in create_app): the security layer does not reach into the services.
login_event = Namespace().signal("sitthi-login-event")
# Who `has_access` answers for: not yet worked out in this request, or nobody logged in.
_UNRESOLVED, _PUBLIC = object(), object()


def _yes_no(value) -> str:
    return str(lazy_gettext("Yes") if value else lazy_gettext("No"))


def _names(rows) -> str:
    return ", ".join(sorted(str(row.name) for row in rows or ()))


# The users list in words: "Yes", "Admin, Auditor", not Python's True, [Admin] and [].
USER_FORMATTERS = {"active": _yes_no, "roles": _names, "groups": _names}


def _without_broken_routes(view_class, **attributes):
    """FAB's security screens, minus what answers a crafted request with a 500.

    `/action/<name>/<pk>` fails on an unknown action name and `/download/<filename>` on any name;
    neither is used (bulk actions go through action_post; there are no files). `/action_post`
    failed on any name but a bulk action's (copy roles), and on a row that is not there: neither
    is there to act on.
    """

    def action_post(self):
        if not is_bulk_action(self, request.form.get("action")):
            abort(404)
        if any(self.datamodel.get(pk) is None for pk in request.form.getlist("rowid")):
            abort(404)
        return view_class.action_post(self)

    def _init_forms(self):
        view_class._init_forms(self)
        for form in (self.add_form, self.edit_form):
            bound_form_input(form)  # one made-up id in the groups select emptied a user's groups

    return type(view_class.__name__, (view_class,), {
        "exclude_route_methods": set(getattr(view_class, "exclude_route_methods", set())) | {"action", "download"},
        "action_post": expose("/action_post", methods=["POST"])(action_post),
        "_init_forms": _init_forms,
        **attributes,
    })


class SitthiSecurityManager(SecurityManager):
    userdbmodelview = _without_broken_routes(
        UserDBModelView, formatters_columns={**(UserDBModelView.formatters_columns or {}), **USER_FORMATTERS})
    rolemodelview = _without_broken_routes(RoleModelView)
    groupmodelview = _without_broken_routes(UserGroupModelView)
    permissionmodelview = _without_broken_routes(PermissionModelView)
    viewmenumodelview = _without_broken_routes(ViewMenuModelView)
    permissionviewmodelview = _without_broken_routes(PermissionViewModelView)

    def create_jwt_manager(self, app):
        jwt_manager = answer_token_errors(super().create_jwt_manager(app))
        # Every token carries its user's generation; one of an older generation is refused (401).
        jwt_manager.additional_claims_loader(
            lambda identity: {sessions.GENERATION_CLAIM: sessions.generation_of(self.session, int(identity))})
        jwt_manager.token_in_blocklist_loader(
            lambda _header, payload: not sessions.token_is_current(self.session, payload))
        return jwt_manager

    def create_login_manager(self, app):
        login_manager = super().create_login_manager(app)
        login_manager.user_loader(self._load_session_user)
        return login_manager

    def get_user_by_id(self, pk):
        """The user with their roles and groups in one statement: every request reads all three
        (FAB's lookup, then one statement per relation when first read)."""
        model = self.user_model
        return self.session.execute(
            select(model).where(model.id == pk).options(joinedload(model.roles), joinedload(model.groups))
        ).unique().scalar_one_or_none()

    def _load_session_user(self, pk):
        """The session's user, unless the session has ended (logout elsewhere, a new password,
        idle or too old): then the browser is anonymous again and is told why."""
        found = self._open_request(int(pk))
        if found is None or not found.User.is_active:
            return None
        user = found.User
        if not sessions.session_is_current(self.session, user.id, found.generation or 0):
            session.clear()
            flash(translate(sessions.MSG_SESSION_ENDED), "warning")
            return None
        remember_stamps(self.session, [getattr(found, f"stamp_{group}") for group in REFERENCE_TABLES])
        g._sitthi_menu_facts = (bool(found.heads_a_unit), bool(found.named_or_standing_in))
        g.sitthi_unread = found.unread or 0
        principals = frozenset(int(each) for each in (found.principals or "").split(",") if each)
        g._sitthi_opened = (user.id, found.Officer, principals)
        return user

    def _open_request(self, user_id: int):
        """What every page asks of its user, in the request's first statement instead of eight:
        the user with roles and groups, their login generation, officer record and the heads
        they stand in for today (app.views.scoping), the menu's facts (_menu_facts), the bell's
        unread count (app.views.notifications) and the reference tables' stamps
        (app.reference_cache)."""
        from app.formatting import local_today

        if self._opening is None:
            self._opening = self._opening_statement()
        return self.session.execute(self._opening, {"user_id": user_id, "today": local_today()}).unique().first()

    _opening = None

    def _opening_statement(self):
        """Built once: building it took longer than running it."""
        from app.models import Delegation, Notification, Officer

        model, user_id, today = self.user_model, bindparam("user_id"), bindparam("today", type_=Date)
        heads_a_unit, named_or_standing_in = self._menu_fact_columns(user_id, today)
        principals = select(func.aggregate_strings(cast(Delegation.principal_user_id, String), ",")) \
            .where(Delegation.of_deputy_on(user_id, today)).scalar_subquery()
        unread = select(func.count(Notification.id)).where(Notification.unread_of(user_id)).scalar_subquery()
        return (select(model, LoginGeneration.generation, Officer, heads_a_unit.label("heads_a_unit"),
                       named_or_standing_in.label("named_or_standing_in"), principals.label("principals"),
                       unread.label("unread"), *stamp_columns())
                .outerjoin(LoginGeneration, LoginGeneration.user_id == model.id)
                .outerjoin(Officer, Officer.user_id == model.id)
                .where(model.id == user_id).options(joinedload(model.roles), joinedload(model.groups)))

    # -- logins: the lockout, and the same work whether or not the username exists -------------
    def auth_user_db(self, username, password):
        # A locked username never reaches here (app.security.sessions refuses it first).
        g.pop("_sitthi_failure_recorded", None)
        user = super().auth_user_db(username, password)
        if user is None:
            sessions.count_failure(self.session, username)
            if not g.get("_sitthi_failure_recorded"):
                # A known name's failure is recorded by on_user_login_failed; an unknown one's here,
                # so both cost a write and a commit and the time taken does not tell them apart.
                self._audit_login("login.failed", None)
        else:
            sessions.forget_failures(self.session, username)
        self.session.commit()
        return user

    def reset_password(self, userid, password):
        """A new password (one's own, or reset by an administrator) ends every session and token
        of that user; the session that changed its own password goes on."""
        sessions.end_everything_of(self.session, userid)
        super().reset_password(userid, password)
        if has_request_context() and getattr(g.get("user"), "id", None) == userid:
            session[sessions.GENERATION] = sessions.generation_of(self.session, userid)
        self._audit_login("password.changed", self.get_user_by_id(userid))

    @property
    def is_auth_limited(self) -> bool:
        """Off for FAB's own login limit, which counts only the HTML login and only per address.

        app.security.rate_limits limits both login doors, per address and per username, when
        AUTH_RATE_LIMITED is on; FAB's limit on top would count every HTML attempt twice.
        """
        return False

    # -- every login, failed login and logout goes into the audit trail ---------------------
    def _audit_login(self, action: str, user) -> None:
        login_event.send(self, action=action, user=user,
                         remote_addr=request.remote_addr if has_request_context() else None)
        self.session.commit()

    def on_user_login(self, user) -> None:
        for key in ("_sitthi_principal", "_sitthi_menu_facts", "sitthi_unread", "_sitthi_opened"):
            g.pop(key, None)  # the request now speaks for someone else
        if has_request_context() and not request.path.startswith("/api/"):
            sessions.start_session(self.session, user.id)
        self._audit_login("login", user)

    def on_user_login_failed(self, user) -> None:
        g._sitthi_failure_recorded = True
        self._audit_login("login.failed", user)

    def noop_user_update(self, user) -> None:
        """FAB's stand-in, for an unknown username, for the update a known one's failure makes;
        that update also reads the user's roles and groups, so this one does too."""
        self.session.expire(user, ["roles", "groups"])
        _ = [role.id for role in user.roles], [group.id for group in user.groups]
        super().noop_user_update(user)

    def on_user_logout(self, user) -> None:
        g.pop("_sitthi_principal", None)
        sessions.end_everything_of(self.session, user.id)
        self._audit_login("logout", user)

    def has_access(self, permission_name: str, view_name: str) -> bool:
        """FAB's rule, with the user it asks about resolved once per request: a list page asks
        about fifty times (menu entries, row buttons, actions), and FAB resolved the login again
        each time (~0.14 ms, 7 ms of a page)."""
        if not has_request_context():
            return super().has_access(permission_name, view_name)
        principal = self._access_principal()
        if principal is _PUBLIC:
            return self.is_item_public(permission_name, view_name)
        if principal is None:
            return False
        allowed = self._has_view_access(principal, permission_name, view_name)
        if allowed and permission_name == "menu_access" and view_name in CERTIFIER_MENUS:
            return self._certifies(principal)
        if allowed and permission_name == "menu_access" and view_name in GROUP_FILER_MENUS:
            return self._files_groups(principal)
        return allowed

    def access_fingerprint(self):
        """What decides which menu entries this request may see: the user's rights (and whether
        they certify), or none."""
        principal = self._access_principal()
        if principal is _PUBLIC:
            return "public"
        if principal is None:
            return "inactive"
        self._has_view_access(principal, "menu_access", "")  # loads the rights into g
        return g._sitthi_permissions[1], self._certifies(principal), self._files_groups(principal)

    def _certifies(self, user) -> bool:
        """Whether anything can wait for this user's certification: they hold a unit-head position,
        a request names them, or they stand in for a head today. Every officer may certify (the
        role cannot tell heads apart), but a menu entry no one will ever fill only misleads."""
        heads_a_unit, named_or_standing_in = self._menu_facts(user)
        return heads_a_unit or named_or_standing_in

    def _files_groups(self, user) -> bool:
        """Whether this user may file a group request: a command's technology or personnel staff,
        or a unit head (app.services.group_requests decides for whom). Every officer holds the
        screen's permission (the role cannot tell heads apart); its menu entry only misleads others."""
        return bool({role.name for role in user.roles} & GROUP_FILER_ROLES) or self._menu_facts(user)[0]

    def _menu_facts(self, user) -> tuple[bool, bool]:
        """(holds a unit-head position, is named as head of a request under way or stands in for
        a head today): what the menu asks of every page's user, in one statement per request."""
        found = g.get("_sitthi_menu_facts")
        # A browser session's first statement read them (_load_session_user); a token's or an
        # API key's user has them read here.
        if found is None:
            from app.formatting import local_today

            heads_a_unit, named_or_standing_in = self.session.execute(
                select(*self._menu_fact_columns(user.id, local_today()))).one()
            found = g._sitthi_menu_facts = (bool(heads_a_unit), bool(named_or_standing_in))
        return found

    @staticmethod
    def _menu_fact_columns(user_id: int, today):
        from app.models import AccessRequest, Delegation, Officer, PositionLevel

        officer = select(Officer.id).where(Officer.user_id == user_id)
        return (
            exists().where(Officer.user_id == user_id, Officer.position_level_id == PositionLevel.id,
                           PositionLevel.is_unit_head.is_(True)),
            or_(exists().where(AccessRequest.certifying_head_id.in_(officer),
                               AccessRequest.state.in_(("submitted", "returned"))),
                exists().where(Delegation.of_deputy_on(user_id, today))),
        )

    def _access_principal(self):
        """The active user `has_access` answers for, as FAB decides it (an API-key user, the
        session's user, the JWT's user), None for an inactive one, or _PUBLIC."""
        found = g.get("_sitthi_principal", _UNRESOLVED)
        if found is not _UNRESOLVED:
            return found
        if getattr(g, "_api_key_user", False) and hasattr(g, "user"):
            user = self._get_safe_user(g.user)
            found = user if user and user.is_active else _UNRESOLVED
        if found is _UNRESOLVED and current_user.is_authenticated:
            user = self._get_safe_user(g.user)
            found = user if user and user.is_active else None
        if found is _UNRESOLVED:
            if not (current_user_jwt and current_user_jwt.is_active):
                # Not kept: an API call is anonymous until its token has been checked.
                return _PUBLIC
            found = current_user_jwt._get_current_object()
        g._sitthi_principal = found
        return found

    def _has_view_access(self, user, permission_name: str, view_name: str) -> bool:
        """One query per request for all of the user's permissions, not one per menu entry."""
        if not has_request_context():
            return super()._has_view_access(user, permission_name, view_name)
        key = getattr(user, "id", None)
        cached = g.get("_sitthi_permissions")
        if cached is None or cached[0] != key:
            role_ids = [role.id for role in self.get_user_roles(user)]
            cached = (key, self._permission_pairs(role_ids))
            g._sitthi_permissions = cached
        return (permission_name, view_name) in cached[1]

    def _permission_pairs(self, role_ids: list[int]) -> frozenset[tuple[str, str]]:
        from flask_appbuilder.security.sqla.models import (
            Permission,
            PermissionView,
            ViewMenu,
            assoc_permissionview_role,
        )

        if not role_ids:
            return frozenset()

        def read() -> frozenset[tuple[str, str]]:
            rows = (
                self.session.query(Permission.name, ViewMenu.name)
                .select_from(PermissionView)
                .join(Permission, PermissionView.permission_id == Permission.id)
                .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
                .join(assoc_permissionview_role,
                      assoc_permissionview_role.c.permission_view_id == PermissionView.id)
                .filter(assoc_permissionview_role.c.role_id.in_(role_ids))
                .all()
            )
            return frozenset((permission, view) for permission, view in rows)

        # Kept by the process until any role's rights change (app.reference_cache).
        return kept(self.session, "permissions", tuple(sorted(role_ids)), read)

    def ensure_builtin_roles(self) -> None:
        for name in (self.auth_role_admin, self.auth_role_public):
            if self.find_role(name) is None:
                self.add_role(name)

    @staticmethod
    def declared_permissions(baseviews, menu) -> set[tuple[str, str]]:
        """(permission, view menu) of every view and menu item the app registers."""
        declared = {("menu_access", item.name) for item in _menu_items(menu.get_list()) if item.name != "-"}
        for view in baseviews:
            declared |= {(permission, view.class_permission_name) for permission in view.base_permissions or ()}
        return declared

    def update_permissions(self, baseviews, menu) -> tuple[int, int]:
        """Make the permission table match what the views and menu declare: add what is new,
        delete what no view declares any more (a method or view removed since the last deploy)
        with its hold on roles, then view menus left empty. Returns (added, removed).

        Instead of FAB's add_permissions(update_perms=True) and security_cleanup: several Sitthi
        views share one permission name (the screen and the API of a resource), and FAB updates
        view by view, so each tries to delete the others' permissions, is refused because Admin
        holds them, and says so: a hundred "Refused to delete" lines on every deploy.
        """
        declared = self.declared_permissions(baseviews, menu)
        existing = {(pvm.permission.name, pvm.view_menu.name)
                    for pvm in self.session.query(self.permissionview_model).all() if pvm.permission}
        for permission, view_menu in sorted(declared - existing):
            self.add_permission_view_menu(permission, view_menu)
        removed = self._remove_undeclared(declared)
        return len(declared - existing), removed

    def _remove_undeclared(self, declared: set[tuple[str, str]]) -> int:
        roles = self.get_all_roles()
        removed = 0
        for pvm in self.session.query(self.permissionview_model).all():
            if (pvm.permission.name, pvm.view_menu.name) in declared:
                continue
            for role in roles:
                if pvm in role.permissions:
                    role.permissions.remove(pvm)
            self.session.delete(pvm)
            removed += 1
        self.session.flush()
        kept = {view_menu for _permission, view_menu in declared}
        for view_menu in self.get_all_view_menu():
            if view_menu.name not in kept and not self.find_permissions_view_menu(view_menu):
                self.session.delete(view_menu)
        self.session.commit()
        return removed

    def sync_roles(self) -> dict[str, int]:
        """Make every role hold exactly its declared permissions; Admin holds all.

        Idempotent: run on every deploy. Returns how many permissions each role holds.
        """
        all_pvms = self.session.query(self.permissionview_model).all()
        by_pair = {(pvm.permission.name, pvm.view_menu.name): pvm for pvm in all_pvms}
        held = {}
        for role_name in ROLES:
            wanted = permissions_of(role_name)
            missing = sorted(pair for pair in wanted if pair not in by_pair)
            if missing:
                raise LookupError(f"role {role_name} names unknown permissions: {missing}")
            role = self.find_role(role_name) or self.add_role(role_name)
            role.permissions = [by_pair[pair] for pair in sorted(wanted)]
            held[role_name] = len(wanted)
        self.ensure_builtin_roles()
        admin = self.find_role(ADMIN)
        admin.permissions = list(all_pvms)
        held[ADMIN] = len(all_pvms)
        self.session.commit()
        return held


def _menu_items(items):
    """Every item of the menu tree, groups and their children alike."""
    for item in items:
        yield item
        yield from _menu_items(item.childs or [])
