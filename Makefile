# Two commands on a fresh clone: `make demo` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint benchmark clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "cnscd needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# System packages (font, Pango, Chromium, LibreOffice Writer): installed as root, otherwise
# reported (and the font fetched into .venv). Fast when everything is there.
setup: $(STAMP)
	@scripts/system-deps.sh $(VENV)

demo: setup
	$(BIN)/cnscd sample
	$(BIN)/cnscd run --year 2022 --year 2023 --year 2024 --year 2025

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

clean:
	rm -rf data/raw/20* data/raw/_* data/processed/20* outputs/20*
