# Sitthi: `make run` serves the demo on http://127.0.0.1:8080, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 8080

# Sarabun for the browser: woff2 subsets (Latin, Thai, punctuation) of the TTFs the memo uses.
fonts:
	$(BIN)/pip install --quiet brotli==1.2.1  # fonttools comes with fpdf2
	for w in regular bold; do $(BIN)/pyftsubset app/static/fonts/Sarabun-$$(echo $$w | sed 's/./\U&/').ttf \
	  --unicodes='U+0000-00FF,U+0E00-0E7F,U+2000-206F,U+20AC,U+2122,U+2190-2193,U+2212,U+25CC,U+FEFF' \
	  --layout-features='*' --flavor=woff2 --output-file=app/static/fonts/sarabun-$$w.woff2; done

# The guides' screenshots (docs/guides/img), taken from the real app on demo data by the browser test.
guides: $(BIN)/activate
	SITTHI_GUIDE_SHOTS=docs/guides/img $(BIN)/python -m pytest -q -p no:cacheprovider -o addopts="" tests/test_guides.py -k screenshot

.PHONY: guides fonts run test lint install migrate init seed translations compile-translations bench bench-data bench-import bench-throughput bench-scaffold bench-keep-warm bench-exports bench-review bench-varied clean

$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/activate

install: $(BIN)/activate compile-translations

compile-translations: $(BIN)/activate
	$(BIN)/pybabel compile --use-fuzzy -d translations -f >/dev/null 2>&1

migrate: install
	$(FLASK) db upgrade

init: migrate
	$(FLASK) sitthi init

seed: init
	$(FLASK) sitthi seed-demo --if-empty

run: seed
	@echo ""
	@echo "Sitthi is starting on http://$(HOST):$(PORT)"
	@echo "Demo logins, all with the password Sitthi@demo1:"
	@echo "  admin, officer, head, commandtech, centralit, personnel, auditor"
	@echo ""
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/activate
	$(BIN)/ruff check app tests bench config.py app.py

# Re-extract every message (ours and Flask-AppBuilder's own) into the catalogues.
translations: $(BIN)/activate
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k gettext -k _ -k _l -k N_ \
		--no-location --sort-output -o translations/messages.pot \
		app $$($(BIN)/python -c 'import flask_appbuilder, os; print(os.path.dirname(flask_appbuilder.__file__))')
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

bench: install
	$(BIN)/python bench/run_bench.py

# Only build the 10,000- and 1,000,000-request databases (BENCH_SCALES, BENCH_DB_PREFIX as for bench).
bench-data: install
	$(BIN)/python bench/run_bench.py --build-only

# 230,000 officers imported twice on PostgreSQL (SITTHI_BENCH_POSTGRES, default the local test server).
bench-import: install
	$(BIN)/python bench/import_bench.py

# Page views/s under gunicorn (sync and gthread) against a bare Flask page, 8 clients; needs
# BENCH_DATABASE_URL=postgresql+psycopg://... (filled by bench/dataset.py when empty).
bench-throughput: install
	$(BIN)/python bench/throughput.py $(BENCH_ARGS)

# Sitthi's busy pages beside a plain Flask-AppBuilder scaffold (and one with its search form fixed)
# on the same database, in one run (issue 10's goal); BENCH_SCALES as for bench, default 1000000.
bench-scaffold: install
	$(BIN)/python bench/scaffold.py $(BENCH_ARGS)

# What `flask sitthi renew-shared-figures` costs when every command's figures are kept warm
# (bench_1m from bench-data, a Redis database of its own, BENCH_CACHE_URL).
bench-keep-warm: install
	$(BIN)/python bench/keep_warm_bench.py

# Each export and the printed report asked for as its button does, then written as a job
# (bench_1m from bench-data, BENCH_EXPORT_URL): the request's ms, the run's seconds and memory.
bench-exports: install
	$(BIN)/python bench/export_bench.py

# A rights review of the demo command started as its button does, then listed by its job
# (bench_1m from bench-data, BENCH_REVIEW_URL): the request's ms, the run's seconds and items.
bench-review: install
	$(BIN)/python bench/review_bench.py

# Busy screens asked with a different value each time on one connection: prepared statements' plans.
bench-varied: install
	$(BIN)/python bench/varied_params.py

clean:
	rm -rf $(VENV) .pytest_cache
