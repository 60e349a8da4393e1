# statsherd — make targets. `make help` lists them.
GO      ?= go
BIN     ?= $(CURDIR)/bin
RELEASE ?= $(shell cat internal/version/VERSION)
# Record the VCS revision in binaries built from a checkout (the
# environment may turn it off); a source archive has no VCS and builds anyway.
GOFLAGS_BUILD := $(if $(wildcard .git),-buildvcs=true,-buildvcs=false)
TESTTIMEOUT ?= 9m
# The plugin SDK is a Go module of its own (sdk/go.mod, so plugin authors
# need nothing else). `./...` stops at a module's border, so test, vet,
# fuzz and bench run in each module.
MODULES := . sdk

.PHONY: help build test demo bench fuzz proto lint dist stats-gatherer-run clean install deb

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
	@echo "make install             binaries, munin plugin and plugin-conf.d, systemd units, examples (PREFIX, DESTDIR)"
	@echo "make deb                 dist/statsherd_RELEASE_ARCH.deb (nfpm): make install under /usr, a user, disabled services"

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/... ./examples/...

test:
	cd sdk && $(GO) test -count=1 -timeout $(TESTTIMEOUT) ./...
	$(GO) test -count=1 -timeout $(TESTTIMEOUT) ./...

demo: build
	./scripts/demo.sh

bench:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...); done

FUZZTIME ?= 20s
fuzz:
	@set -e; for m in $(MODULES); do \
	  for pkg in $$(cd $$m && $(GO) list ./...); do \
	    for t in $$(cd $$m && $(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	      echo "== $$pkg $$t"; (cd $$m && $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg); \
	    done; \
	  done; \
	done

# protoc is Debian's protobuf-compiler package (3.21.12 made the committed
# files); its Go plugins are tool dependencies in go.mod, built here at the
# versions go.mod names.
PROTOC   ?= protoc
PROTOGEN := $(BIN)/protogen
PROTOOUT ?= .
proto:
	@command -v $(PROTOC) >/dev/null || { echo "make proto: $(PROTOC) not found; install it with: apt-get install protobuf-compiler" >&2; exit 1; }
	$(GO) build -o $(PROTOGEN)/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc
	$(PROTOC) --plugin=$(PROTOGEN)/protoc-gen-go --plugin=$(PROTOGEN)/protoc-gen-go-grpc \
	  --go_out=$(PROTOOUT) --go_opt=paths=source_relative \
	  --go-grpc_out=$(PROTOOUT) --go-grpc_opt=paths=source_relative sdk/proto/plugin.proto
	$(PROTOC) --plugin=$(PROTOGEN)/protoc-gen-go \
	  --go_out=$(PROTOOUT) --go_opt=paths=source_relative internal/wire/wire.proto

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...

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

# Install. PREFIX (default /usr/local) holds the binaries, units and
# examples; SYSCONFDIR and LOCALSTATEDIR are where munin's and statsherd's
# configuration and state live (the units name them); DESTDIR stages the
# whole tree elsewhere (packaging).
PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
DATADIR        ?= $(PREFIX)/share
SYSCONFDIR     ?= /etc
LOCALSTATEDIR  ?= /var
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
DESTDIR        ?=
INSTALL        ?= install

install: build
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/munin/plugin-conf.d $(DESTDIR)$(DATADIR)/statsherd/examples $(DESTDIR)$(DATADIR)/statsherd/munin
	$(INSTALL) -m 0755 $(BIN)/statsherd $(BIN)/statsherd-munin $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 munin/plugin-conf.d/statsherd $(DESTDIR)$(SYSCONFDIR)/munin/plugin-conf.d/statsherd
	sed -i -e 's|/var/lib/statsherd-gatherer/|$(LOCALSTATEDIR)/lib/statsherd-gatherer/|' \
	  -e 's|/usr/share/statsherd/|$(DATADIR)/statsherd/|' $(DESTDIR)$(SYSCONFDIR)/munin/plugin-conf.d/statsherd
	$(INSTALL) -m 0644 munin/graphs/system.hcl $(DESTDIR)$(DATADIR)/statsherd/munin/system.hcl
	for u in statsherd-gatherer statsherd-host statsherd-host@; do \
	  sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@LOCALSTATEDIR@|$(LOCALSTATEDIR)|g' \
	    packaging/systemd/$$u.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.service && \
	  chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.service || exit 1; \
	done
	$(INSTALL) -m 0644 packaging/sysusers.d/statsherd.conf $(DESTDIR)$(SYSUSERSDIR)/statsherd.conf
	$(INSTALL) -m 0644 packaging/examples/host.hcl $(DESTDIR)$(DATADIR)/statsherd/examples/host.hcl
	for f in producers/*/example.hcl; do \
	  $(INSTALL) -m 0644 $$f $(DESTDIR)$(DATADIR)/statsherd/examples/producer-$$(basename $$(dirname $$f)).hcl || exit 1; \
	done
	for f in outputs/*/example.hcl; do \
	  $(INSTALL) -m 0644 $$f $(DESTDIR)$(DATADIR)/statsherd/examples/output-$$(basename $$(dirname $$f)).hcl || exit 1; \
	done

# A Debian package, built by nfpm (a Go tool pinned in packaging/tools.mod,
# apart from the daemons' go.mod) from `make install` staged under /usr.
# packaging/nfpm.yaml names the files under build/deb-root.
DEBROOT := build/deb-root
DEBARCH ?= $(shell $(GO) env GOARCH)
deb:
	rm -rf $(DEBROOT)
	$(MAKE) install DESTDIR=$(CURDIR)/$(DEBROOT) PREFIX=/usr
	@mkdir -p $(DISTDIR)
	STATSHERD_VERSION=$(RELEASE) STATSHERD_ARCH=$(DEBARCH) \
	  $(GO) tool -modfile=packaging/tools.mod nfpm package -f packaging/nfpm.yaml -p deb -t $(DISTDIR)/
	@ls $(DISTDIR)/statsherd_*.deb

clean:
	rm -rf $(BIN) dist build
