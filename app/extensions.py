"""Extension objects, unbound: create_app() binds them to one app at a time."""
from flask_appbuilder import Model
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_caching import Cache
from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

# Sharing FAB's metadata keeps Alembic, FAB's security tables and our models in one schema.
db = get_sqla_class()(metadata=Model.metadata)
migrate = Migrate()
csrf = CSRFProtect()
cache = Cache()  # figures shared between readers for a short while (the dashboard); Redis when configured
mail = Mail()  # flask_mail.Message needs it bound; `sitthi send-notifications` reads MAIL_* when it runs
