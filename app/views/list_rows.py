"""The rows of every list page, written out in Python instead of by FAB's list widget's loop.

FAB's loop calls a Jinja macro per row for the row's buttons (each building its links with
url_for and the list's filters) and a formatter per cell through Jinja's call machinery: a few
thousand calls for a page of 25 rows, each costing several times the work it does. Here the
buttons are rendered once per page, through FAB's own macros, with a placeholder for the link,
and each row fills in its own; the cells are escaped exactly as the template's `{{ }}` would.
The HTML is the widget's own (app/templates/appbuilder/general/widgets/list.html).
"""
from flask import current_app
from markupsafe import Markup, escape

# Neither can come out of url_for or escape: the link and the key of each row go where they stand.
_HREF = "__sitthi_row_href__"
_PK = "__sitthi_row_pk__"


def register(app) -> None:
    app.jinja_env.globals["sitthi_list_rows"] = list_rows


def list_rows(lib, value_columns, pks, include_columns, formatters_columns, actions,
              can_show, can_edit, can_delete, modelview_name, filters) -> Markup:
    buttons = _Buttons(lib, can_show, can_edit, can_delete, modelview_name, filters)
    with_buttons = bool(can_show or can_edit or can_delete)
    formatters = [(column, formatters_columns.get(column)) for column in include_columns]
    out: list[str] = []
    for item, pk in zip(value_columns, pks, strict=False):
        out.append("<tr>")
        if actions:
            key = escape(pk)
            out.append(f'<td><input id="{key}" class="action_check" name="rowid" value="{key}" type="checkbox"></td>')
        if with_buttons:
            out.append(f"<td><center>{buttons.for_row(pk)}</center></td>")
        for column, formatter in formatters:
            value = item.get(column, "")
            out.append(f"<td>{escape(formatter(value) if formatter else value)}</td>")
        out.append("</tr>")
    return Markup("".join(out))


class _Buttons:
    """FAB's btn_crud for one page: each link's macro rendered once, its address per row."""

    def __init__(self, lib, can_show, can_edit, can_delete, modelview_name, filters):
        env = current_app.jinja_env
        self.url_for, self.with_filters, self.filters = env.filters["safe_url_for"], env.filters["set_link_filters"], filters
        self.links = []  # (endpoint, whether the list's filters follow, its address with _PK, its HTML with _HREF)
        for allowed, method, macro, keeps_filters in (
                (can_show, "show", lib.lnk_show, True), (can_edit, "edit", lib.lnk_edit, True),
                (can_delete, "delete", lib.lnk_delete, False)):
            if not allowed:
                continue
            endpoint = f"{modelview_name}.{method}"
            address = self._address(endpoint, _PK, keeps_filters)
            if address is not None:
                self.links.append((endpoint, keeps_filters, address, str(macro(_HREF))))

    def _address(self, endpoint, pk, keeps_filters):
        address = self.url_for(endpoint, pk=pk)
        if address is not None and keeps_filters:
            address = self.with_filters(address, self.filters)
        return address

    def for_row(self, pk) -> str:
        out = ['<div class="btn-group btn-group-xs" style="display: flex;">']
        for endpoint, keeps_filters, address, html in self.links:
            # A number stands in the address as it is; any other key is quoted by url_for, as FAB asks it.
            href = address.replace(_PK, str(pk)) if isinstance(pk, int) else self._address(endpoint, pk, keeps_filters)
            if href is not None:
                out.append(html.replace(_HREF, str(escape(href))))
        out.append("</div>")
        return "".join(out)
