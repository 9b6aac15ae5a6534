# hall-edge: `make demo` runs the whole hall on simulated devices, `make test` runs every test.
# Both install what they need first (Debian packages, then a venv in .venv/), idempotently
# and without questions, so they work on a fresh Debian machine and in CI.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := mosquitto mosquitto-clients pcscd vsmartcard-vpcd libpcsclite-dev swig \
	fonts-wqy-microhei espeak-ng sox systemd \
	libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
	libpulse0 libasound2 libusb-1.0-0 libgbm1 libdrm2 gcc python3-dev python3-venv \
	chromium chromium-driver postgresql
APT_STAMP := $(VENV)/.apt-$(shell echo '$(APT_PACKAGES)' | md5sum | cut -c1-8)
VENV_STAMP := $(VENV)/.installed
VOICE_STAMP := assets/voice/default/.generated
PYTHON ?= python3

.PHONY: all setup demo test lint bench clean voice bundle bundle-test lock

all: setup

setup: $(VENV_STAMP) $(VOICE_STAMP)

$(APT_STAMP):
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

$(VENV_STAMP): pyproject.toml $(APT_STAMP)
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

$(VOICE_STAMP): $(VENV_STAMP) $(wildcard hall/ui/voice/generate.py hall/ui/voice/clips.py)
	@if [ -f hall/ui/voice/generate.py ]; then $(PY) -m hall.ui.voice.generate assets/voice/default; fi
	@mkdir -p $(dir $@) && touch $@

voice: $(VOICE_STAMP)

demo: setup
	$(VENV)/bin/hall demo $(DEMO_ARGS)

test: setup
	$(VENV)/bin/lint-imports --no-cache
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

bench: setup
	@for b in queue ticket startup call sync web; do $(VENV)/bin/hall bench $$b; done

# The offline installer (docs/technician.md, "Offline install"): dist/hall-edge-<version>-bookworm-amd64.tar
# with the Debian packages, the locked wheels, the units and the voice pack.  BUNDLE_ARGS:
# e.g. --version 0.1.1 (a test build).  `make bundle-test` installs it in a blank Debian 12
# root (debootstrap) with no network, provisions a queue host, upgrades and rolls back.
bundle: setup
	$(PY) packaging/build_bundle.py $(BUNDLE_ARGS)

bundle-test: setup
	@command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q debootstrap
	$(SUDO) $(PY) packaging/bundle_test.py $(BUNDLE_TEST_ARGS)

# packaging/requirements.lock from pyproject.toml (pinned, with hashes), with uv in a
# throwaway venv: run after changing the dependencies.
lock:
	@[ -x build/uv/bin/uv ] || { $(PYTHON) -m venv build/uv && build/uv/bin/pip install -q uv==0.13.8; }
	build/uv/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_36 --no-header --annotation-style line \
		-o packaging/requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
