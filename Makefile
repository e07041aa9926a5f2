# gennaker — common tasks. `make demo` runs the main job, `make test` runs
# every test the project has (it installs the npm tools it needs first).

GO       ?= go
BIN      := bin
NPM_STAMP := node_modules/.stamp

.PHONY: all build test test-go check-asl deps demo clean bench

all: build

build:
	$(GO) build -o $(BIN)/gennaker ./cmd/gennaker

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

test: deps check-asl
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 40m ./...
	# The engine, stores, stages and providers again under the race detector.
	$(GO) test -race -count=1 -timeout 20m ./shared/... ./providers/...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 10x ./shared/orchestration/
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./shared/api/
	$(GO) test -run '^$$' -bench RedBlack -benchtime 5x ./tests/deploy/
	$(GO) test -run '^$$' -bench ColdStart -benchtime 5x ./tests/functions/

demo: build
	$(BIN)/gennaker demo

clean:
	rm -rf $(BIN) node_modules

# A local Kubernetes control plane: etcd, kube-apiserver, controller-manager
# and scheduler built from k8s.io/kubernetes (tools/k8s), and kwok nodes.
# `make k8s-up` prints the kubeconfig path last; `make k8s-down` stops it.
.PHONY: k8s-up k8s-down
k8s-up:
	@hack/k8s-up.sh

k8s-down:
	@hack/k8s-down.sh
