# The two commands a new user needs: `make up` (run the system) and `make test` (run every test).
.PHONY: up test lint bench contracts clean help

help:
	@echo "make up         start the embedded stack (installs on first use); then: .venv/bin/accel ask \"...\""
	@echo "make test       lint, type-check, contract drift check, unit + integration + system tests"
	@echo "make bench      run the benchmarks under bench/"
	@echo "make contracts  regenerate contracts/schemas and contracts/asyncapi"

.venv/.accel-bootstrap: pyproject.toml constraints.txt scripts/bootstrap.sh
	./scripts/bootstrap.sh

up: .venv/.accel-bootstrap
	.venv/bin/accel up

test: .venv/.accel-bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest -q -p no:cacheprovider

bench: .venv/.accel-bootstrap
	.venv/bin/python -m bench

contracts: .venv/.accel-bootstrap
	.venv/bin/accel contracts export

clean:
	rm -rf .accel .pytest_cache .mypy_cache .ruff_cache
