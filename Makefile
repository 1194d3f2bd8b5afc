# Strata: one command to run the server, one to run every test.
#   make run     install what is missing, build (release), start with conf/strata.conf
#   make test    install what is missing, build, run Swift tests and the integration suite
#                against strata-server in three tier modes (all hot, all cold, mixed) and
#                against a real redis-server

SWIFT ?= swift
PYTHON ?= python3
BUILD_FLAGS = -c release
BIN = .build/release/strata-server
APT_PACKAGES = librocksdb-dev libzstd-dev libjemalloc-dev redis-server redis-tools
PIP_PACKAGES = redis pytest
# The mixed tier mode's maxmemory: a little above an idle server's own memory.
MIXED_MAXMEMORY ?= 4mb
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test deps build unit-test integration-test integration-test-cold integration-test-mixed \
	integration-test-redis bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	  case "$$missing" in *redis-server*) \
	    echo "stopping the redis-server service the package started (it holds port 6379)"; \
	    ($(SUDO) service redis-server stop || $(SUDO) systemctl stop redis-server) >/dev/null 2>&1 || true;; \
	  esac; \
	fi
	@$(PYTHON) -c "import redis, pytest" 2>/dev/null || $(PYTHON) -m pip install -q $(PIP_PACKAGES)
	@command -v $(SWIFT) >/dev/null || { echo "Swift 6.x is required (https://swift.org/install)"; exit 1; }

build: deps
	$(SWIFT) build $(BUILD_FLAGS) --product strata-server

run: build
	mkdir -p data
	$(BIN) conf/strata.conf

unit-test: deps
	$(SWIFT) test $(BUILD_FLAGS)

integration-test: build
	STRATA_SERVER=$(CURDIR)/$(BIN) $(PYTHON) -m pytest -q Tests/integration

# All cold: every key is demoted to RocksDB after every command (a test knob).
integration-test-cold: build
	STRATA_SERVER=$(CURDIR)/$(BIN) STRATA_EXTRA_ARGS="--tiering-demote-all yes" \
	  $(PYTHON) -m pytest -q Tests/integration

# Mixed: a small maxmemory, so keys move between the tiers as the tests run.
integration-test-mixed: build
	STRATA_SERVER=$(CURDIR)/$(BIN) STRATA_EXTRA_ARGS="--maxmemory $(MIXED_MAXMEMORY) --maxmemory-policy allkeys-lru" \
	  $(PYTHON) -m pytest -q Tests/integration

integration-test-redis: deps
	STRATA_TARGET=redis $(PYTHON) -m pytest -q Tests/integration

test: build unit-test integration-test integration-test-cold integration-test-mixed integration-test-redis

bench: build
	Benchmarks/compare-with-redis.sh

clean:
	rm -rf .build data
