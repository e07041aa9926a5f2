# gennaker — common tasks. `make demo` runs the main job, `make test` runs
# every test the project has (it installs the npm tools it needs first).

GO       ?= go
BIN      := bin
NPM_STAMP := node_modules/.stamp

.PHONY: all build build-go test test-go check-asl deps demo clean bench web prometheus

all: build

build: web build-go

build-go:
	$(GO) build -o $(BIN)/gennaker ./cmd/gennaker

# The web UI: web/src (TypeScript, Preact, Vite) type-checked and built into
# web/dist, which the binary embeds. dist is committed, so `go build` alone
# works too; a test fails when it is not what the sources build.
# The stamp holds the lock file's hash, as the Go tests' installer
# (web/webtest) writes it, so neither installs again what the other did.
WEB_STAMP := web/node_modules/.gennaker-stamp

$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@sha256sum web/package-lock.json | cut -d' ' -f1 | tr -d '\n' > $@

web: $(WEB_STAMP)
	cd web && npm run --silent build -- --logLevel warn

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(NPM_STAMP)

# asl-validator checks every state machine against the Amazon States Language
# as Step Functions accepts it.
check-asl: deps
	@for f in statemachines/*.asl.json; do \
		node_modules/.bin/asl-validator --json-path "$$f" || exit 1; \
	done

# Debian's prometheus, which the canary analysis tests start on a free port.
prometheus:
	@hack/prometheus-install.sh

test: deps check-asl $(WEB_STAMP) prometheus
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...
	# The engine, stores, stages and providers again under the race detector.
	$(GO) test -race -count=1 -timeout 20m ./shared/... ./providers/...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 10x ./shared/orchestration/
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./shared/api/
	$(GO) test -run '^$$' -bench RedBlack -benchtime 5x ./tests/deploy/
	$(GO) test -run '^$$' -bench . -benchtime 5x ./shared/canary/judge/
	$(GO) test -run '^$$' -bench ColdStart -benchtime 5x ./tests/functions/

# The demo's data stays in DEMO_DIR so that `gennaker up --data-dir` can show
# its runs and server groups in the web UI afterwards.
DEMO_DIR ?= $(CURDIR)/.gennaker-demo

# The demo embeds the committed web/dist: it needs no Node.js.
demo: build-go
	rm -rf $(DEMO_DIR)
	$(BIN)/gennaker demo --data-dir $(DEMO_DIR)

clean:
	rm -rf $(BIN) node_modules web/node_modules $(DEMO_DIR)

# A local Kubernetes control plane: etcd, kube-apiserver, controller-manager
# and scheduler built from k8s.io/kubernetes (tools/k8s), and kwok nodes.
# `make k8s-up` prints the kubeconfig path last; `make k8s-down` stops it.
.PHONY: k8s-up k8s-down
k8s-up:
	@hack/k8s-up.sh

k8s-down:
	@hack/k8s-down.sh
