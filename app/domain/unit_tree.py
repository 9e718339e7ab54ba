"""The unit tree as plain data: each unit's parent and whether it administers a command."""
from collections.abc import Iterable


class UnitTree:
    """Read once and shared by the requests of a process (app.reference_cache): a command is the
    nearest is_admin_scope unit at or above a unit. A cycle in the tree (bad data) ends a walk
    where it would come back, instead of running forever."""

    def __init__(self, rows: Iterable[tuple[int, int | None, bool]]):
        self.rows = tuple((uid, parent, bool(admin)) for uid, parent, admin in rows)
        self.parent = {uid: parent for uid, parent, _ in self.rows}
        self.is_command = {uid: admin for uid, _, admin in self.rows}
        self.children: dict[int, list[int]] = {}
        for uid, parent, _ in self.rows:
            if parent is not None:
                self.children.setdefault(parent, []).append(uid)
        self._ancestors: dict[int | None, tuple[int, ...]] = {}
        self._below: dict[int, tuple[int, ...]] = {}

    def ancestors(self, unit_id: int | None) -> tuple[int, ...]:
        """The unit and every unit above it, nearest first (worked out once per unit)."""
        known = self._ancestors.get(unit_id)
        if known is None:
            chain, walked = [], unit_id
            while walked in self.parent and walked not in chain:
                chain.append(walked)
                walked = self.parent[walked]
            known = self._ancestors[unit_id] = tuple(chain)
        return known

    def command_of(self, unit_id: int | None) -> int | None:
        return next((uid for uid in self.ancestors(unit_id) if self.is_command[uid]), None)

    def units_under(self, root_id: int) -> tuple[int, ...]:
        """The unit and everything below it, at any depth, in id order; () for an unknown unit."""
        known = self._below.get(root_id)
        if known is None:
            found, todo = set(), [root_id] if root_id in self.parent else []
            while todo:
                uid = todo.pop()
                if uid not in found:
                    found.add(uid)
                    todo.extend(self.children.get(uid, ()))
            known = self._below[root_id] = tuple(sorted(found))
        return known
