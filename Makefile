# Stackboard. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

BINARY := bin/stackboard
ADDR ?= 127.0.0.1:8080
DB ?= stackboard.db

.PHONY: help run test fuzz bench generate fmt lint build clean check-generated

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

run: build ## build and serve the demo data on the embedded SQLite at http://$(ADDR)
	./$(BINARY) serve --demo --db $(DB) --addr $(ADDR)

test: lint ## every check and every test (race detector on), on SQLite and, when STACKBOARD_TEST_POSTGRES is set, again on PostgreSQL
	env -u STACKBOARD_TEST_POSTGRES go test -race -count=1 ./...
	@if [ -n "$$STACKBOARD_TEST_POSTGRES" ]; then echo "again on PostgreSQL (STACKBOARD_TEST_POSTGRES)"; go test -race -count=1 ./...; \
	else echo "PostgreSQL half skipped: STACKBOARD_TEST_POSTGRES is not set (.ci/with-postgres make test sets it)"; fi

FUZZTIME ?= 30s
fuzz: ## run every fuzz target for FUZZTIME each (default 30s); make test runs only their seeds
	@for target in models:FuzzDecodeManifest models:FuzzEventFilter models:FuzzMarkers handlers:FuzzDecodeBodies \
		web:FuzzNegotiate web:FuzzSafeRedirect; do \
		echo "fuzzing $${target#*:} in ./$${target%%:*}/ for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$${target#*:}$$" -fuzztime $(FUZZTIME) ./$${target%%:*}/ || exit 1; \
	done

bench: ## fragments against whole renders at L, Go benchmarks at sizes S, M, L, load runs (wrk) against a real server, and SQLite beside PostgreSQL when STACKBOARD_TEST_POSTGRES is set: Markdown tables on stdout
	@command -v wrk >/dev/null || { echo "make bench needs wrk for its load runs: apt-get install -y wrk"; exit 1; }
	@mkdir -p bin && go test -c -o bin/stackboard.test .
	@if [ -z "$$STACKBOARD_BENCH_ONLY" ]; then echo "fragments against whole renders at S, M and L"; \
		STACKBOARD_BENCH=1 go test -count=1 -run '^TestProductListFromFragmentsIsAWholeRender$$' -timeout 30m ./web/ || exit 1; fi
	STACKBOARD_BENCH=1 ./bin/stackboard.test -test.run '^(TestGeneratedFleetsStayWithinFiveStatements|TestBenchReport|TestBenchEngines)$$' -test.timeout 60m

generate: ## regenerate the templ views
	go tool templ generate

fmt: ## format Go and templ sources
	gofmt -w .
	go tool templ fmt views

lint: check-generated ## gofmt, go vet, and generated files up to date
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...

check-generated: ## fail when templ generate would change the committed *_templ.go files
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; cp go.mod go.sum "$$tmp"/; cp -R views "$$tmp"/views; \
	(cd "$$tmp" && go tool templ generate >/dev/null 2>&1) || { echo "templ generate failed"; exit 1; }; \
	if ! diff -r -q views "$$tmp"/views >/dev/null; then diff -r views "$$tmp"/views | head -40; echo "views/*_templ.go are stale: run make generate"; exit 1; fi

build: ## build bin/stackboard
	go build -o $(BINARY) .

clean: ## remove the binary and the demo database
	rm -rf bin $(DB) $(DB)-wal $(DB)-shm
