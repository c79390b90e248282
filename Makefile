# Two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TESTS  := $(VENV)/.tests-installed-stamp
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: run test install browser zoneinfo bench clean

run: $(STAMP)
	$(BIN)/capacity run

# The whole suite in UTC, then every test of a number that depends on time again in Dutch time: results
# must not depend on the host's time zone.
TZ_TESTS := tests/test_exact_edges.py tests/test_shortfall.py tests/test_search_and_health.py tests/test_suppression.py \
            tests/test_intake_config.py tests/test_provider_reminders.py tests/test_provider_updates.py \
            tests/test_alerts.py tests/test_digest.py tests/test_page_cache.py

# Two test processes (pytest-xdist), one per core: 9:53 against 16:48 in one (and 11:54 with --dist loadfile).
test: $(TESTS) browser zoneinfo
	TZ=UTC $(BIN)/pytest -n 2
	TZ=Europe/Amsterdam $(BIN)/pytest -q $(TZ_TESTS)

install: $(STAMP)

# The app alone for `make run` (quicker on a fresh clone); the test tools on top for `make test`.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { $(APT) update -q && $(APT) install -y -q python3-venv; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile -e .
	@touch $@

$(TESTS): $(STAMP)
	$(BIN)/python -m pip install -q --no-compile -e '.[test]'
	@touch $@

# Benchmarks (not part of make test): results in bench/results/, the table in bench/results/latest.md.
bench: $(TESTS) browser
	$(BIN)/python bench/run.py

# Headless Chromium and its driver for the browser tests (Debian packages).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		$(APT) update -q && $(APT) install -y -q chromium chromium-driver; \
	fi

# The system's time zone data, for the run in Dutch time (Debian package tzdata).
zoneinfo:
	@[ -f /usr/share/zoneinfo/Europe/Amsterdam ] || { $(APT) update -q && $(APT) install -y -q tzdata; }

clean:
	rm -rf $(VENV) tests/artifacts
