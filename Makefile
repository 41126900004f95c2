# Sluice developer entry points. `make test` is what CI runs (.ci/run); `make demo` brings up the demo deployment.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
SCENARIOS ?= kafka

.PHONY: test deps image artifacts lint unit molecule demo demo-destroy clean

test: deps image artifacts lint unit molecule  ## everything CI runs

deps:  ## Docker engine, debootstrap, JDK + Maven, .venv, collections
	scripts/setup-host

image: deps  ## the systemd test image (cached by tag)
	scripts/build-test-image

artifacts: deps  ## the offline artifact mirror in artifacts/ (a complete mirror is a no-op)
	scripts/fetch-artifacts

lint: deps  ## ansible-lint (production profile), collection sanity checks, Python syntax
	ansible-lint --profile production --offline
	scripts/sanity

unit: deps  ## unit tests with coverage of plugins/ (fails under 80%)
	pytest tests/unit --cov=plugins --cov-report=term-missing --cov-fail-under=80

molecule: image artifacts  ## every Molecule scenario: create, converge, idempotence, verify, destroy
	set -e; for s in $(SCENARIOS); do echo "== molecule test -s $$s"; molecule test -s $$s; done

demo: image artifacts  ## bring up the kafka scenario and leave it running
	molecule converge -s kafka
	@echo "Kafka is up: bootstrap servers 127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094;" \
	      "JMX exporter metrics on 127.0.0.1:19404-19406/metrics. Tear down with: make demo-destroy"

demo-destroy:
	molecule destroy -s kafka

clean: demo-destroy
	rm -rf $(VENV) .cache collections/ansible_collections
