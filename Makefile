# The two set-up commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
# Test processes (pytest-xdist): one per core; 0 runs the tests in this process.
PYTEST_WORKERS ?= auto
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Serves at GRIEVANCE_HOST:GRIEVANCE_PORT (from the environment or .env; default 127.0.0.1:8000).
run: $(STAMP)
	$(BIN)/grievance db upgrade
	$(BIN)/grievance demo --if-empty
	$(BIN)/grievance serve

# The browser tests drive the system Chromium; a fresh (root) machine gets it from apt. Elsewhere the browser
# tests skip with a note, except with CI=true, where a missing Chromium fails them.
chromium:
	@{ command -v chromium && dpkg -s fonts-noto-cjk; } >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { \
		echo "Installing Chromium and CJK fonts for the browser tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/intake.py

clean:
	rm -rf $(VENV) .pytest_cache var
