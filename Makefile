# Sluice developer entry points. `make test` is what CI runs (.ci/run); `make demo` brings up the demo deployment.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
PYTHON := $(VENV)/bin/python
# Scenarios in lanes that run side by side (2 cores: two lanes); each lane runs its scenarios in order.
SCENARIO_LANES ?= "default cluster" "kafka monitoring vault"

.PHONY: test deps image artifacts lint unit molecule test-sqlserver demo demo-destroy clean

test: deps image artifacts lint unit molecule test-sqlserver  ## everything CI runs

deps:  ## Docker engine, debootstrap, JDK + Maven, .venv, collections
	scripts/setup-host

image: deps  ## the systemd test image (cached by tag)
	scripts/build-test-image

artifacts: deps  ## the offline artifact mirror in artifacts/ (a complete mirror is a no-op)
	scripts/fetch-artifacts

lint: deps  ## ansible-lint (production profile), collection sanity checks, Python syntax, the built tarball installed with its dependencies
	@# Molecule caches a copy of this collection in ~/.ansible; an old copy would shadow the working tree for ansible-lint.
	rm -rf $(HOME)/.ansible/collections/ansible_collections/sluice
	ansible-lint --profile production --offline
	scripts/sanity
	scripts/check-collection

unit: deps  ## unit tests, and integration tests against a throwaway PostgreSQL; coverage of plugins/ (fails under 80%)
	pytest tests/unit tests/integration --cov=plugins --cov-report=term-missing --cov-fail-under=80

molecule: image artifacts  ## every Molecule scenario: create, converge, idempotence, verify, destroy (logs in .cache/molecule/)
	scripts/run-scenarios $(SCENARIO_LANES)

test-sqlserver: image artifacts  ## the sqlserver scenario; prints SKIPPED (never passed) where its image cannot be pulled
	scripts/run-sqlserver-scenario

demo: image artifacts  ## bring up the pipeline (default scenario), leave it running, show a workload go through
	molecule converge -s default
	$(PYTHON) scripts/demo-workload

demo-destroy:  ## remove the demo's containers
	molecule destroy -s default

clean: demo-destroy
	rm -rf $(VENV) .cache collections/ansible_collections
