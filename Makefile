# WedSync Scaling — every target installs what it needs (scripts/deps.sh)
# and runs its servers on loopback in throwaway folders.
GO       ?= go
MODULES  := core autoscaler demo rules exporter loadtest grafana-plugin dashboards compose
PKGS     := $(foreach m,$(MODULES),./$(m)/...)
BIN      := bin
DEMO_ARGS ?=

.PHONY: demo test bench lint build deps rules clean plugin-frontend fuzz

## demo: start the whole loop on loopback, ramp load, watch it scale up and down, print the event log
demo: deps build
	./$(BIN)/wedsync-demo --bin-dir=$(BIN) $(DEMO_ARGS)

## test: every test, the end-to-end one included (real PostgreSQL, Prometheus, Alertmanager)
# Unit and integration packages run under the race detector; the end-to-end
# test (demo/stack) runs without it, because it drives real load whose shape
# must not depend on the detector's slowdown (its servers are separate
# binaries anyway).
test: deps
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list $(PKGS) | grep -v '/demo/stack$$')
	$(GO) test -count=1 -timeout 20m ./demo/stack/...
	$(MAKE) plugin-frontend

## bench: benchmarks; figures go to bench/results/
bench: deps
	WEDSYNC_BENCH_DEPS=1 ./scripts/deps.sh
	./scripts/bench.sh

## fuzz: every fuzz target for FUZZTIME each (default 30s; 10m before a release); a crash's input is kept in testdata/fuzz as a regression seed
fuzz:
	FUZZTIME=$(or $(FUZZTIME),30s) ./scripts/fuzz.sh

## lint: formatting, vet, tidy modules
lint:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy -diff) || exit 1; done

## build: the binaries, into bin/
build:
	$(GO) build -o $(BIN)/ $(foreach m,$(MODULES),$(if $(wildcard $(m)/cmd),./$(m)/cmd/...))

## rules: regenerate rules/dist from rules/thresholds.yml
rules:
	cd rules && $(GO) run ./cmd/rulegen -out dist

deps:
	@./scripts/deps.sh

## plugin-frontend: the Grafana plugin's frontend (typecheck, jest, webpack) and backend binary, into grafana-plugin/dist
# npm ci only when package-lock.json changed since the last install.
plugin-frontend:
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || { echo "plugin-frontend: Node $$(node --version) is too old; the frontend's toolchain needs Node 20 or newer (Debian 12 ships 18: install a newer nodejs package)"; exit 1; }
	cd grafana-plugin && if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
	cd grafana-plugin && npm run typecheck && npm run test:ci && npm run build
	cd grafana-plugin && CGO_ENABLED=0 $(GO) build -tags arrow_json_stdlib -ldflags "-w -s" -o dist/gpx_wedsync_scaling_linux_amd64 ./pkg
	@for f in module.js plugin.json gpx_wedsync_scaling_linux_amd64; do test -s grafana-plugin/dist/$$f || { echo "grafana-plugin/dist/$$f missing"; exit 1; }; done

clean:
	rm -rf $(BIN)
