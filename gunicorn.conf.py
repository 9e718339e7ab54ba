"""gunicorn reads this file from the working directory: `gunicorn 'app:create_app()'` uses it.

It sets the garbage collector of each worker for serving (app.server_tuning).

gunicorn writes "Server: gunicorn" into every answer and has no setting to stop it; telling an
attacker the server and its version helps no one who uses Sitthi. The header is left out here.
"""
from gunicorn.http import wsgi


class _ResponseWithoutServer(wsgi.Response):
    def default_headers(self):
        return [line for line in super().default_headers() if not line.lower().startswith("server:")]


wsgi.Response = _ResponseWithoutServer


def post_worker_init(worker):
    """Each worker, once it has built the app: the garbage collector set for serving."""
    from app.server_tuning import tune_garbage_collection

    tune_garbage_collection()
