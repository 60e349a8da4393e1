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

.PHONY: help build test demo bench bench-footprint fuzz proto lint dist stats-gatherer-run clean install deb lintian

help:
	@echo "make build               every binary into ./bin"
	@echo "make test                all tests (unit, end-to-end, real munin/prometheus when installed)"
	@echo "make demo                gatherer + 3 hosts + munin snapshot and graphs, then stop"
	@echo "make bench               benchmarks (not part of test)"
	@echo "make bench-footprint     idle host beside collectd and node_exporter, gatherer beside vmagent (docs/footprint.md)"
	@echo "make fuzz                run each fuzz target for FUZZTIME (default 20s)"
	@echo "make proto               regenerate sdk/proto from plugin.proto"
	@echo "make lint                gofmt + go vet"
	@echo "make dist                source archive dist/statsherd-RELEASE.tar.gz"
	@echo "make stats-gatherer-run  run a gatherer in ./stats-gatherer and print its furl"
	@echo "make install             binaries, munin plugin and plugin-conf.d, systemd units, examples (PREFIX, DESTDIR)"
	@echo "make deb                 dist/statsherd_RELEASE_ARCH.deb (nfpm): make install under /usr, a user, services that start once configured"
	@echo "make lintian             make deb, then lintian on it (fails on errors)"

# BUILDFLAGS: more `go build` flags (make deb: static, -trimpath, stripped).
BUILDFLAGS ?=
build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) $(BUILDFLAGS) -o $(BIN)/ ./cmd/... ./examples/...

test:
	cd sdk && $(GO) test -count=1 -timeout $(TESTTIMEOUT) ./...
	$(GO) test -count=1 -timeout $(TESTTIMEOUT) ./...

demo: build
	./scripts/demo.sh

bench:
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...); done

# The footprint side by side with Debian's collectd, prometheus-node-exporter
# and vmagent (victoria-metrics); about 15 minutes (scripts/bench-footprint.sh
# lists its settings: HOST_SECONDS, FLEETS, REPEAT, ...).
bench-footprint: build
	./scripts/bench-footprint.sh

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
MANDIR         ?= $(DATADIR)/man
DOCDIR         ?= $(DATADIR)/doc/statsherd
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
	# Man pages: each command's own help (statsherd help -man), compressed
	# without names or times (reproducible).
	rm -rf $(DESTDIR)$(MANDIR)/man1 && $(INSTALL) -d $(DESTDIR)$(MANDIR)/man1
	$(BIN)/statsherd help -man $(DESTDIR)$(MANDIR)/man1
	gzip -9n $(DESTDIR)$(MANDIR)/man1/*.1
	# The README and every document it links to, at the same relative
	# paths so its links work (a linked folder: its files but tests).
	$(INSTALL) -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	for f in $$(grep -o '](\([^):#]*\))' README.md | sed 's/^](\(.*\))$$/\1/' | sort -u); do \
	  if [ -d "$$f" ]; then \
	    for g in $$(find "$$f" -type f ! -name '*_test.go' ! -path '*/testdata/*' | sort); do \
	      $(INSTALL) -D -m 0644 "$$g" "$(DESTDIR)$(DOCDIR)/$$g" || exit 1; \
	    done; \
	  else \
	    $(INSTALL) -D -m 0644 "$$f" "$(DESTDIR)$(DOCDIR)/$$f" || exit 1; \
	  fi; \
	done

# A Debian package, built by nfpm (a Go tool pinned in packaging/tools.mod,
# apart from the daemons' go.mod) from `make install` staged under /usr.
# packaging/nfpm.yaml names the files under build/_deb-root (a name the go
# tool skips: the shipped examples are Go source). The binaries
# are static (no libc to depend on), stripped, and reproducible: the same
# tree builds the same bytes wherever it lies (-trimpath), and the
# package's file times are the last commit's (SOURCE_DATE_EPOCH).
DEBROOT := build/_deb-root
DEBARCH ?= $(shell $(GO) env GOARCH)
# nfpm's Debian version: 0.1.0-dev becomes 0.1.0~dev (before 0.1.0), with
# the Debian revision 1 (packaging/nfpm.yaml).
DEBVERSION := $(subst -,~,$(RELEASE))-1
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || stat -c %Y internal/version/VERSION)
deb:
	rm -rf $(DEBROOT) build/deb-bin
	CGO_ENABLED=0 $(MAKE) install DESTDIR=$(CURDIR)/$(DEBROOT) PREFIX=/usr BIN=$(CURDIR)/build/deb-bin \
	  BUILDFLAGS="-trimpath -ldflags='-s -w'"
	packaging/deb/mkchangelog $(DEBVERSION) "$$(date -R -u -d @$(SOURCE_DATE_EPOCH))" | gzip -9n >$(DEBROOT)/changelog.Debian.gz
	@mkdir -p $(DISTDIR)
	STATSHERD_VERSION=$(RELEASE) STATSHERD_ARCH=$(DEBARCH) SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
	  $(GO) tool -modfile=packaging/tools.mod nfpm package -f packaging/nfpm.yaml -p deb -t $(DISTDIR)/
	@ls $(DISTDIR)/statsherd_$(DEBVERSION)_$(DEBARCH).deb

# lintian on the package `make deb` made: no errors (packaging/deb/lintian-overrides
# says why for each override it ships).
lintian: deb
	lintian --fail-on error $(DISTDIR)/statsherd_$(DEBVERSION)_$(DEBARCH).deb

clean:
	rm -rf $(BIN) dist build
