# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
# torch is pinned through constraints.txt here only (the CPU wheel on these machines, the normal CUDA
# wheel elsewhere); `pip install hermitcrab[hf]` stays unpinned for users.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[hf,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/weather_bot.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/trim.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
