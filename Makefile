# WedSync Scaling — every target installs what it needs (scripts/deps.sh)
# and runs its servers on loopback in throwaway folders.
GO       ?= go
MODULES  := core autoscaler demo rules exporter loadtest
PKGS     := $(foreach m,$(MODULES),./$(m)/...)
BIN      := bin
DEMO_ARGS ?=

.PHONY: demo test bench lint build deps rules clean

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

## bench: benchmarks; figures go to bench/results/
bench: deps
	WEDSYNC_BENCH_DEPS=1 ./scripts/deps.sh
	./scripts/bench.sh

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

clean:
	rm -rf $(BIN)
