# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
# `make web` serves the chat web app (examples/web_app) on http://127.0.0.1:8000 with the demo model.
# torch is pinned through constraints.txt here only (the CPU wheel on these machines, the normal CUDA
# wheel elsewhere); `pip install hermitcrab[hf]` stays unpinned for users.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo web test lint typecheck format bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[hf,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/weather_bot.py

web: $(STAMP)
	cd examples && HF_HUB_OFFLINE=1 ../$(BIN)/python -m web_app --folder web_app/conversations

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python .ci/typecheck.py
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy --strict on the library (pyproject.toml [tool.mypy]); .ci/typecheck.py says how it finds the packages.
typecheck: $(STAMP)
	$(BIN)/python .ci/typecheck.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/trim.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build/typecheck build/mypy_cache
