# fim — build, test, benchmark.
GO          ?= go
BIN         := bin
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
# go-mtree's gomtree: the mtree tests verify fim's exports with it as well as NetBSD mtree.
GOMTREE     := $(BIN)/gomtree
GOMTREE_VERSION := v0.7.0
# kubeconform: the dist tests validate the Kubernetes manifests with it, against the
# schemas kept in dist/testdata (it fetches none).
KUBECONFORM := $(BIN)/kubeconform
KUBECONFORM_VERSION := v0.8.0
# The SARIF Multitool (npm's @microsoft/sarif-multitool-linux, x86-64): the report tests
# validate every SARIF log with its SARIF and GitHub code scanning rules. Its npm wrapper
# passes arguments through a shell, so bin/sarif-multitool is the program itself.
SARIF_MULTITOOL := $(BIN)/sarif-multitool
SARIF_MULTITOOL_VERSION := 5.7.0
# A count, not a duration: a duration budget can fail spuriously at its deadline on
# Go 1.26 (golang/go#75804).
FUZZTIME    ?= 50000x
# Minimizing each new input can take a minute with the default budget: bound it too.
FUZZMINIMIZE ?= 200x
# What fim --version and the manual page say: the release tag (else devel), the commit
# and its date.
VERSION     ?= $(shell git describe --tags --dirty 2>/dev/null || echo devel)
COMMIT      ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
DATE        ?= $(shell git log -1 --format=%cs 2>/dev/null)
LDFLAGS     := -X main.buildVersion=$(VERSION) -X main.buildCommit=$(COMMIT) -X main.buildDate=$(DATE)
# The tree `make demo` and `make bench-peers` work on.
DEMO_DIR    ?= /etc
PEERS_DIR   ?= /usr

# make install: where things go (DESTDIR is prepended to each, for packaging).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
DATADIR     ?= $(PREFIX)/share
UNITDIR     ?= $(PREFIX)/lib/systemd/system

.PHONY: all build demo test vet lint fuzz fuzz-long bench bench-peers bench-watch install clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/fim ./cmd/fim

# The main job on a real directory, with the default database location.
demo: build
	$(BIN)/fim baseline $(DEMO_DIR)
	$(BIN)/fim check

$(STATICCHECK):
	GOBIN=$(CURDIR)/$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(GOMTREE):
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/vbatts/go-mtree/cmd/gomtree@$(GOMTREE_VERSION)

$(KUBECONFORM):
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)

$(SARIF_MULTITOOL):
	npm install --no-save --no-audit --no-fund --prefix $(BIN)/sarif-npm @microsoft/sarif-multitool-linux@$(SARIF_MULTITOOL_VERSION)
	chmod u+x $(BIN)/sarif-npm/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
	ln -sf sarif-npm/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool $@

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

lint: vet $(STATICCHECK)
	$(STATICCHECK) ./...

# What CI runs: formatting, vet, staticcheck, the race-enabled test suite (with the
# tools it installs in bin/ on the PATH), then every fuzz target for a short while.
test: lint $(GOMTREE) $(KUBECONFORM) $(SARIF_MULTITOOL)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory fuzz

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
	  done; \
	done

# A longer fuzzing session, for a developer machine.
fuzz-long:
	$(MAKE) fuzz FUZZTIME=20000000x FUZZMINIMIZE=60s

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# fim side by side with b3sum, AIDE, mtree, find and fd on one tree (see ../shared/bench).
bench-peers: build
	@command -v b3sum >/dev/null && command -v aide >/dev/null && test -x /usr/bin/time || \
	  { apt-get update -qq && apt-get install -y -qq time b3sum fd-find aide mtree-netbsd; }
	OURS_BASELINE='$(CURDIR)/$(BIN)/fim baseline --db {work}/f.db {dir}' \
	OURS_CHECK='$(CURDIR)/$(BIN)/fim check --db {work}/f.db' \
	  ../shared/bench/peers.sh $(PEERS_DIR)

# fim watch end to end: event latency, and CPU and RSS under 10,000 writes/s, per
# backend, each run on a fresh tmpfs (needs root).
bench-watch: build
	$(GO) run ./bench/watchbench -fim $(BIN)/fim $(WATCHBENCH_FLAGS)

# The binary, its manual page and shell completions (made by the binary itself), and the
# systemd units of dist/systemd with ExecStart= pointing at BINDIR.
install: build
	install -D -m 0755 $(BIN)/fim $(DESTDIR)$(BINDIR)/fim
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR)/bash-completion/completions \
	  $(DESTDIR)$(DATADIR)/zsh/site-functions $(DESTDIR)$(DATADIR)/fish/vendor_completions.d $(DESTDIR)$(UNITDIR)
	$(BIN)/fim man > $(DESTDIR)$(MANDIR)/man1/fim.1
	$(BIN)/fim completion bash > $(DESTDIR)$(DATADIR)/bash-completion/completions/fim
	$(BIN)/fim completion zsh > $(DESTDIR)$(DATADIR)/zsh/site-functions/_fim
	$(BIN)/fim completion fish > $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/fim.fish
	chmod 0644 $(DESTDIR)$(MANDIR)/man1/fim.1 $(DESTDIR)$(DATADIR)/bash-completion/completions/fim \
	  $(DESTDIR)$(DATADIR)/zsh/site-functions/_fim $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/fim.fish
	for u in fim-watch.service fim-check.service fim-check.timer; do \
	  sed 's|^ExecStart=/usr/bin/fim |ExecStart=$(BINDIR)/fim |' dist/systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

clean:
	rm -rf $(BIN)
