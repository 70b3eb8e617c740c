# Stompede. `make run` starts a broker node, `make test` runs the whole suite.
# Both install and build only what is missing or out of date.
SHELL := /bin/bash
.DEFAULT_GOAL := run

NPM_STAMP := node_modules/.package-lock.json
PACKAGE_FILES := package.json package-lock.json $(wildcard libs/*/package.json services/*/package.json)
SOURCES := $(shell find libs/*/src services/*/src -name '*.ts' 2>/dev/null) $(wildcard services/broker/web/*) \
	tsconfig.json tsconfig.base.json $(wildcard libs/*/tsconfig.json services/*/tsconfig.json)
BUILD_STAMP := services/broker/dist/.build-stamp
TEST_FILES := $(sort $(wildcard libs/*/test/*.test.ts services/*/test/*.test.ts bench/test/*.test.ts deploy/test/*.test.ts loadtest/test/*.test.ts))
PYTHON ?= /usr/bin/python3

.PHONY: install build run cluster test test-deps redis-deps chromium-deps typecheck bench soak loadtest rollout-rehearsal docs proto clean screenshot

install: $(NPM_STAMP)

$(NPM_STAMP): $(PACKAGE_FILES)
	npm ci --no-audit --no-fund
	@touch $@

build: $(BUILD_STAMP)

$(BUILD_STAMP): $(NPM_STAMP) $(SOURCES)
	npx tsc -b
	node scripts/web-assets.mjs
	@touch $@

## Start one broker node; STOMPEDE_* variables and ARGS="--flag value" are passed through.
run: build
	node services/broker/dist/main.js $(ARGS)

## Start a local Redis and three nodes forming one cluster (WebSocket 15674-15676, TCP 61613-61615);
## Ctrl-C stops all. STOMPEDE_REDIS_URL=redis://... uses that Redis instead of starting one; other
## STOMPEDE_* variables reach every node; ARGS="--nodes 5 --ws-port 25674" changes the layout.
cluster: build
	@[ -n "$$STOMPEDE_REDIS_URL" ] || command -v redis-server >/dev/null || $(MAKE) --no-print-directory redis-deps
	node scripts/cluster.mjs $(ARGS)

typecheck: build
	npx tsc -p tsconfig.test.json

## redis-server and redis-cli (Debian's redis-server) for `make cluster` and the cluster tests.
redis-deps:
	@command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { \
	  echo "installing redis-server for the cluster tests"; \
	  (apt-get install -y --no-install-recommends redis-server || \
	   (apt-get update && apt-get install -y --no-install-recommends redis-server)); }

## Debian's chromium for the browser tests (driven by playwright-core; no browser is downloaded).
chromium-deps:
	@[ -x /usr/bin/chromium ] || { \
	  echo "installing chromium for the browser tests"; \
	  (apt-get install -y --no-install-recommends chromium || \
	   (apt-get update && apt-get install -y --no-install-recommends chromium)); }

## stomp.py (Debian's python3-stomp) is the Python client the interop tests drive.
test-deps: redis-deps chromium-deps
	@$(PYTHON) -c 'import stomp' 2>/dev/null || { \
	  echo "installing python3-stomp (stomp.py) for the interop tests"; \
	  (apt-get install -y --no-install-recommends python3-stomp || \
	   (apt-get update && apt-get install -y --no-install-recommends python3-stomp)); }

## --test-timeout bounds each test file (node runs every file in a process of its own): a file that
## hangs fails, named, after 10 minutes instead of holding the run until CI's own limit. The whole
## suite takes about 9 minutes on 2 cores; no file comes near it.
test: build test-deps typecheck
	node --conditions=source --import tsx --test --test-concurrency=2 --test-timeout=600000 --test-reporter=spec $(TEST_FILES)

bench: build
	node bench/run.mjs $(ARGS)

## The leak and loss soak (docs/operations.md#soak), never part of `make test`: a 3-node cluster
## under mixed traffic for 10 minutes (ARGS="--minutes 30"); fails on a growing RSS, heap or fd count,
## or on a lost message.
soak: build redis-deps
	node --import tsx bench/soak/soak.ts $(ARGS)

## The Node load driver: make loadtest ARGS="fanout --urls ws://host:15674/ws --profile smoke"
## (loadtest/README.md; the k6 scripts in loadtest/k6 run the same scenarios).
loadtest: build
	node --import tsx loadtest/driver/main.ts $(ARGS)

## A rolling update of 3 nodes + a private Redis under traffic, as processes: messages lost and
## duplicated, peak reconnect rate (docs/loadtest.md). ARGS="--profile smoke" for the short one.
rollout-rehearsal: build
	@command -v redis-server >/dev/null || $(MAKE) --no-print-directory redis-deps
	node --import tsx loadtest/rehearsal/main.ts $(ARGS)

## Lint proto/ and regenerate libs/admin-api (TypeScript, grpc-js service definitions and the
## descriptor set served by gRPC reflection). A test fails when the checked-in code is stale.
proto: install
	node scripts/proto.mjs

docs: build
	node scripts/settings-doc.mjs --write

## Retake docs/demo.png: the browser test that drives the demo page writes its screenshot there.
screenshot: build chromium-deps redis-deps
	STOMPEDE_WRITE_SCREENSHOT=1 node --conditions=source --import tsx --test --test-name-pattern='demo page' services/broker/test/browser.test.ts

clean:
	rm -rf libs/*/dist services/*/dist
