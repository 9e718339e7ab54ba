"""The ceiling for bench/throughput.py: the least a Flask page on this database can cost.

One pooled query of 25 officer rows rendered with one Jinja template; no login, session, menu,
permission check or translation. Sitthi's page views per second are read against this one's on
the same machine, database and gunicorn settings.

    BENCH_DATABASE_URL=postgresql+psycopg://... gunicorn 'bench.bare_app:app'
"""
import os

from flask import Flask
from sqlalchemy import create_engine, text

PAGE = """<!doctype html>
<html lang="th"><head><meta charset="utf-8"><title>Officers</title></head>
<body><table>
<tr><th>#</th><th>National ID</th><th>Name</th><th>Unit</th></tr>
{% for row in rows %}<tr><td>{{ row.id }}</td><td>{{ row.national_id }}</td>
<td>{{ row.first_name_th }} {{ row.last_name_th }}</td><td>{{ row.home_unit_id }}</td></tr>
{% endfor %}</table></body></html>"""

QUERY = text("SELECT id, national_id, first_name_th, last_name_th, home_unit_id "
             "FROM officer ORDER BY id LIMIT 25")

app = Flask(__name__)
# Created at import, before gunicorn forks; each worker gets fresh connections on first use
# because the pool is empty until then.
engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_pre_ping=True)
# Compiled once, as Flask's loader caches a template file (render_template_string would not).
template = app.jinja_env.from_string(PAGE)


@app.route("/")
def officers():
    with engine.connect() as connection:
        rows = connection.execute(QUERY).all()
    return template.render(rows=rows)
