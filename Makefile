# Alveo: the README's two commands are `make demo` and `make test`.
# Both install what a fresh Debian machine with Swift is missing, then build.

SWIFT ?= swift
SHELL := /bin/bash
APT_PACKAGES := libmodbus-dev libserialport-dev libssl-dev libsqlite3-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps test-deps build build-no-warnings demo demo-replay check test test-under-load bench traces fuzz fuzz-smoke soak soak-interfaces clean deb deb-deps deb-test

## deps: install the C libraries Alveo links (Debian packages), only if missing.
deps:
	@if ! pkg-config --exists libmodbus libserialport openssl sqlite3 2>/dev/null; then \
		echo "Installing $(APT_PACKAGES) from Debian's packages"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

## test-deps: real peers the tests start: socat (pty pairs), pymodbus and pyserial (Modbus server),
## rsyslog (with its TLS and RELP inputs), python-hl7, debootstrap (the package test), headless Chromium (the report's rendering),
## Prometheus (promtool, and the server that scrapes) and node_exporter (its textfile collector reads the metrics file).
TEST_APT_PACKAGES := socat python3 python3-pip gcc libc6-dev rsyslog rsyslog-gnutls rsyslog-relp openssl systemd debootstrap dpkg-dev chromium prometheus prometheus-node-exporter
PIP_PACKAGES := "pymodbus>=3.16,<4" "pyserial>=3.5" "hl7>=0.4.5" "hl7apy>=1.3" "prometheus_client>=0.20"
test-deps: deps
	@if ! command -v socat >/dev/null || ! command -v python3 >/dev/null || ! command -v cc >/dev/null || ! command -v rsyslogd >/dev/null || ! command -v openssl >/dev/null || ! command -v systemd-analyze >/dev/null || ! command -v debootstrap >/dev/null || ! command -v dpkg-shlibdeps >/dev/null || ! command -v chromium >/dev/null || ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null || ! command -v prometheus-node-exporter >/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || [ ! -e /usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so ]; then \
		echo "Installing $(TEST_APT_PACKAGES) from Debian's packages"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_APT_PACKAGES); \
	fi
	@if ! python3 -c "import pymodbus, serial, hl7, hl7apy, prometheus_client" 2>/dev/null; then \
		echo "Installing pymodbus, pyserial, hl7, hl7apy and prometheus_client from PyPI"; \
		python3 -m pip install --quiet --disable-pip-version-check $(PIP_PACKAGES) 2>/dev/null \
			|| python3 -m pip install --quiet --disable-pip-version-check --break-system-packages $(PIP_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

## demo: the live path with no hardware: `alveo simulate` plays devices/scenarios/live_demo.csv as a
## Modbus TCP ventilator and a Modbus RTU oximeter; `alveo run` polls them and prints alarms as they
## happen (about 90 s), then both stop.
DEMO_SECONDS ?= 90
demo: deps
	$(SWIFT) build --product alveo
	@bin=$$($(SWIFT) build --show-bin-path); \
	rm -f /tmp/alveo-oxi; \
	$$bin/alveo simulate --scenario devices/scenarios/live_demo.csv 2>/tmp/alveo-simulate.log & sim=$$!; \
	trap 'kill -INT $$sim 2>/dev/null; wait $$sim 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 100); do [ -e /tmp/alveo-oxi ] && break; sleep 0.1; done; \
	echo "Simulated devices up (log: /tmp/alveo-simulate.log); alarms for $(DEMO_SECONDS) s:"; \
	timeout -s INT $(DEMO_SECONDS) $$bin/alveo run --config config/simulated-bed.yaml --format text; true

## demo-replay: replay the bundled 37-hour course of a patient with diffuse alveolar haemorrhage.
demo-replay: deps
	$(SWIFT) build --product alveo
	$$($(SWIFT) build --show-bin-path)/alveo replay --format text --config config/dah-demo.yaml devices/scenarios/dah_escalation.csv

## timed: runs a step and prints how long it took (make test's steps, so a slow one is seen).
define timed
	@s=$$(date +%s); $(1); rc=$$?; echo "== $(2): $$(( $$(date +%s) - s )) s$$( [ $$rc = 0 ] || echo ", FAILED (exit $$rc)")"; exit $$rc
endef

## build-no-warnings: build everything (tests included); any warning in Alveo's own code fails.
build-no-warnings: deps
	$(SWIFT) build --build-tests 2>&1 | tee .build-warnings.log; exit $${PIPESTATUS[0]}
	@if grep -E "^/.*/(Sources|Tests)/.*warning:" .build-warnings.log | grep -v "/\.build/"; then \
		echo "error: warnings in Alveo's own code (see above)"; exit 1; fi

## check: the developer's loop (docs/testing.md): the no-warning build and every in-process test
## (the clinical core, decoders, outputs, configuration, golden scenarios: no peers, no agent
## processes); about 30 s after an incremental build. `make test` runs everything.
check: deps
	$(call timed,$(MAKE) --no-print-directory build-no-warnings,build)
	$(call timed,ALVEO_CHECK=1 $(SWIFT) test --skip-build,in-process tests)

## test: build everything with no warnings in our own code, then run the whole suite (every test,
## the end-to-end ones with real peers), the Debian package test and a short fuzz run. Each step's
## time is printed; a failing step does not stop the others (their results are still wanted), and
## the summary at the end names every step that failed.
test: test-deps
	@failed=""; \
	step() { name=$$1; shift; s=$$(date +%s); "$$@"; rc=$$?; \
		echo "== $$name: $$(( $$(date +%s) - s )) s$$( [ $$rc = 0 ] || echo ", FAILED (exit $$rc)")"; \
		[ $$rc = 0 ] || failed="$$failed, $$name"; return $$rc; }; \
	if step build $(MAKE) --no-print-directory build-no-warnings; then \
		step "swift test (every suite)" $(SWIFT) test --skip-build; \
	else failed="$$failed, swift test (not run: the build failed)"; fi; \
	step "package test" $(MAKE) --no-print-directory deb-test; \
	step "fuzz smoke" $(MAKE) --no-print-directory fuzz-smoke; \
	if [ -n "$$failed" ]; then echo "== make test FAILED: $${failed#, }"; exit 1; fi; echo "== make test passed"

## test-under-load: `make test` LOAD_RUNS times (default 3) with two CPU-bound processes beside it,
## as on a loaded CI machine or a newcomer's laptop with a build running (docs/testing.md).
LOAD_RUNS ?= 3
test-under-load: test-deps
	@yes > /dev/null & y1=$$!; yes > /dev/null & y2=$$!; trap "kill $$y1 $$y2 2>/dev/null" EXIT INT TERM; \
	for i in $$(seq $(LOAD_RUNS)); do \
		echo "== make test, run $$i of $(LOAD_RUNS), with two busy loops beside it"; \
		$(MAKE) --no-print-directory test || { echo "== run $$i of $(LOAD_RUNS) FAILED under load"; exit 1; }; \
	done; echo "== make test passed $(LOAD_RUNS) times under load"

## deb-deps: what building the package needs besides Swift: debhelper and dpkg-dev (dpkg-buildpackage),
## pandoc and python3 (the man pages), lintian (the package test checks the package with it).
DEB_APT_PACKAGES := debhelper dpkg-dev pandoc python3 lintian
deb-deps: deps
	@if ! command -v dh >/dev/null || ! command -v dpkg-buildpackage >/dev/null || ! command -v pandoc >/dev/null || ! command -v python3 >/dev/null || ! command -v lintian >/dev/null; then \
		echo "Installing $(DEB_APT_PACKAGES) from Debian's packages"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_APT_PACKAGES); \
	fi

## deb: the Debian package (.build-deb/alveo_<version>_<arch>.deb), built with dpkg-buildpackage and
## debhelper from config/debian (assembled as debian/ in .build-deb/src): static Swift standard library,
## stripped, the systemd unit, /etc/alveo/alveo.yaml as a conffile, the alveo user, man pages, docs.
deb: deb-deps
	SWIFT=$(SWIFT) config/debian/make-deb.sh

## deb-test: lintian, then the package on a fresh Debian 12 root (debootstrap): install, manuals and docs,
## upgrade from the previous version, a deleted conffile, remove, purge. Part of `make test` (the release
## build with the static standard library and the debootstrap take 10-15 min).
deb-test: test-deps deb-deps
	SWIFT=$(SWIFT) SUDO=$(SUDO) Tests/Deb/install_test.sh

## fuzz: every fuzz target (libFuzzer, -sanitize=fuzzer,address; built in .build-fuzz) for FUZZ_SECONDS
## each (default 60; the figures in docs/security.md are for 600). FUZZ_TARGETS picks some.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	SWIFT=$(SWIFT) Tests/Fuzz/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## soak: the 7-day soak on virtual time (SOAK_HOURS, default 168): faults, a station outage, a
## killed agent; every event journaled must reach a real HL7 receiver. `make test` runs 6 hours of it.
SOAK_HOURS ?= 168
soak: test-deps
	SWIFT=$(SWIFT) Tests/Soak/soak.sh $(SOAK_HOURS)

## soak-interfaces: a week (INTERFACES_HOURS, default 168) of what reaches the agent's own interfaces,
## compressed into minutes, on the release build: a status poll a second, charts, labs and ADT, idle
## and half-open connections, the journal's disk filling and freeing, clock steps; then
## INTERFACES_BURST (30,000) status requests and as many charts. Resources flat, nothing lost; figures
## in docs/performance.md. `make test` runs an hour of it.
INTERFACES_HOURS ?= 168
INTERFACES_BURST ?= 30000
soak-interfaces: test-deps
	SWIFT=$(SWIFT) Tests/Soak/interfaces-week.sh $(INTERFACES_HOURS) $(INTERFACES_BURST)

## fuzz-smoke: a short run of every fuzz target, part of `make test`.
fuzz-smoke: deps
	SWIFT=$(SWIFT) Tests/Fuzz/fuzz.sh 10

## bench: release-build benchmarks (scenario and raw-trace replay, a flapping oximeter's trace replay, Modbus poll cost, decoders, delivery, the bedside loop,
## 5 min of `alveo run`); figures go in docs/performance.md. `make bench BENCH=trace-replay` runs one.
BENCH ?= all
bench: test-deps
	$(SWIFT) build -c release
	$$($(SWIFT) build -c release --show-bin-path)/alveo-bench $(BENCH)

## traces: rewrite the golden raw traces under devices/<device>/traces and their expected events
## (review the diff of the .expected.jsonl files before committing).
traces: deps
	$(SWIFT) run alveo-bench golden-traces
	ALVEO_UPDATE_GOLDEN=1 $(SWIFT) test --filter GoldenTraceTests

clean:
	rm -rf .build .build-fuzz .build-warnings.log
