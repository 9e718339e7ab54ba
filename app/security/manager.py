"""Sitthi's security manager: FAB's, plus the role sync that `flask sitthi init` runs."""
from flask_appbuilder.security.sqla.manager import SecurityManager

from app.security.roles import ADMIN, ROLES, permissions_of


class SitthiSecurityManager(SecurityManager):
    def ensure_builtin_roles(self) -> None:
        for name in (self.auth_role_admin, self.auth_role_public):
            if self.find_role(name) is None:
                self.add_role(name)

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
