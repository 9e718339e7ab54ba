"""The menu bar, rendered once per set of rights and language instead of on every page.

Which entries a user sees depends only on their permissions (FAB's `is_menu_visible` asks
`has_access("menu_access", name)`), and the labels only on the language: two users with the same
roles see the same bar. Rendering it walked about fifty entries and their access checks, some
10 ms of every page. The bar is kept per (rights, language, script root), a few dozen variants at
most; a change of roles makes a new set of rights, so nothing goes stale.
"""
from flask import current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

MOST_VARIANTS = 256


def register(app) -> None:
    cache: dict = {}

    def sitthi_menu(menu) -> Markup:
        rights = current_app.appbuilder.sm.access_fingerprint()
        if isinstance(rights, str):  # nobody logged in: the public role may change under us
            return Markup(render_template("sitthi/navbar_menu_items.html", menu=menu))
        key = (rights, str(get_locale()), request.script_root)
        found = cache.get(key)
        if found is None:
            found = Markup(render_template("sitthi/navbar_menu_items.html", menu=menu))
            if len(cache) >= MOST_VARIANTS:
                cache.clear()
            cache[key] = found
        return found

    app.jinja_env.globals["sitthi_menu"] = sitthi_menu
