"""What may import what, read from the source with `ast` (imports inside functions too).

- app/views and app/api never import each other: what both use has one home outside both
  (app/services, app/labels.py, app/column_labels.py, app/tables.py, ...);
- app/security never imports app/services (the services use the security's scope, not the other
  way round);
- app/services import no Flask: business rules run without a request (the CLI, the job queue);
  FAB's login and role models are models, not Flask.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "app/views": ("app.api",),
    "app/api": ("app.views",),
    "app/security": ("app.services",),
    "app/services": ("flask", "flask_appbuilder", "flask_babel", "flask_wtf", "app.views", "app.api"),
}
# FAB's login and role tables are models like Sitthi's own: the seed reads them.
ALLOWED = ("flask_appbuilder.security.sqla.models",)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of the file; `from app import views` counts as app.views."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:  # relative: resolve against the package
            package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-node.level])
            module = f"{package}.{node.module}" if node.module else package
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def _breaks(module: str, forbidden: tuple[str, ...]) -> bool:
    if any(module == allowed or module.startswith(f"{allowed}.") for allowed in ALLOWED):
        return False
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in forbidden)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_only_what_it_may(layer):
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, layer
    broken = [f"{path.relative_to(ROOT)}:{line} imports {module}"
              for path in files for line, module in imported_modules(path) if _breaks(module, FORBIDDEN[layer])]
    assert broken == []


def test_the_check_sees_every_kind_of_import(tmp_path):
    """The test above would pass on a parser that saw nothing."""
    sample = tmp_path / "sample.py"
    sample.write_text("import app.views.menu\nfrom app.views import base\n\ndef f():\n    from app.views.base import x\n",
                      encoding="utf-8")
    tree_modules = [module for _line, module in imported_modules(sample)]
    assert {"app.views.menu", "app.views.base", "app.views"} <= set(tree_modules)
    assert all(_breaks(m, FORBIDDEN["app/api"]) for m in tree_modules)
