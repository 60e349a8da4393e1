# statsherd — make targets. `make help` lists them.
GO      ?= go
BIN     ?= $(CURDIR)/bin
RELEASE ?= $(shell cat internal/version/VERSION)
# Record the VCS revision in binaries built from a checkout (the
# environment may turn it off); a source archive has no VCS and builds anyway.
GOFLAGS_BUILD := $(if $(wildcard .git),-buildvcs=true,-buildvcs=false)
TESTTIMEOUT ?= 9m

.PHONY: help build test demo bench fuzz proto lint dist stats-gatherer-run clean

help:
	@echo "make build               every binary into ./bin"
	@echo "make test                all tests (unit, end-to-end, real munin/prometheus when installed)"
	@echo "make demo                gatherer + 3 hosts + munin snapshot and graphs, then stop"
	@echo "make bench               benchmarks (not part of test)"
	@echo "make fuzz                run each fuzz target for FUZZTIME (default 20s)"
	@echo "make proto               regenerate sdk/proto from plugin.proto"
	@echo "make lint                gofmt + go vet"
	@echo "make dist                source archive dist/statsherd-RELEASE.tar.gz"
	@echo "make stats-gatherer-run  run a gatherer in ./stats-gatherer and print its furl"

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/... ./examples/...

test:
	$(GO) test -count=1 -timeout $(TESTTIMEOUT) ./...

demo: build
	./scripts/demo.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

FUZZTIME ?= 20s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

proto:
	protoc --go_out=. --go_opt=paths=source_relative \
	  --go-grpc_out=. --go-grpc_opt=paths=source_relative sdk/proto/plugin.proto
	protoc --go_out=. --go_opt=paths=source_relative internal/wire/wire.proto

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

DISTDIR ?= dist
dist:
	@mkdir -p $(DISTDIR)
	@rm -rf $(DISTDIR)/statsherd-$(RELEASE)
	git archive --format=tar --prefix=statsherd-$(RELEASE)/ HEAD | tar -x -C $(DISTDIR)
	echo $(RELEASE) > $(DISTDIR)/statsherd-$(RELEASE)/internal/version/VERSION
	tar -C $(DISTDIR) -czf $(DISTDIR)/statsherd-$(RELEASE).tar.gz statsherd-$(RELEASE)
	@rm -rf $(DISTDIR)/statsherd-$(RELEASE)
	@echo $(DISTDIR)/statsherd-$(RELEASE).tar.gz

stats-gatherer-run: build
	@test -d stats-gatherer || $(BIN)/statsherd create-gatherer stats-gatherer
	$(BIN)/statsherd gatherer -basedir stats-gatherer

clean:
	rm -rf $(BIN) dist
