# eksguard: see README.md. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
GO ?= go
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

# The Lambda functions: one per event family (shared/families) plus the Slack notifier.
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR := build

# Tools pinned in tools/go.mod (a module of its own, so their dependencies stay out of
# go.mod), built into bin/ on first use: the Lambda Runtime Interface Emulator for the
# tests that run function binaries, staticcheck, govulncheck.
BIN := bin
TOOLS := $(addprefix $(BIN)/,aws-lambda-rie staticcheck govulncheck)
# The emulator the e2e-tagged tests and the cold-start benchmark start (internal/testsupport/lambdatest).
export LAMBDA_RIE := $(abspath $(BIN)/aws-lambda-rie)

# The packages with tests behind the e2e build tag (they start Lambda binaries): make e2e runs them.
E2E_PKGS = $(sort $(dir $(shell grep -rl --include='*.go' --exclude-dir=node_modules --exclude-dir=tools '^//go:build e2e' .)))

# make e2e runs the linux/arm64 function binaries; on other machines under Debian's user-mode
# emulator, which .ci/run installs (a laptop: sudo apt-get install -y qemu-user-static).
NEED_QEMU := $(if $(filter aarch64 arm64,$(shell uname -m)),,yes)

.PHONY: demo test unit e2e vet fmt-check lint tidy-check race fuzz vuln tools build cli clean

## demo: replay the sample events in events/ with the built-in policy
demo:
	$(GO) run ./cmd/eksguard replay --fail-on none events/

## test: everything CI runs
test: fmt-check vet lint tidy-check unit race fuzz e2e

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './node_modules/*' -not -path './build/*' -not -path './cdk.out/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags e2e ./...

## lint: staticcheck (version pinned in tools/go.mod), e2e-tagged files included
lint: $(BIN)/staticcheck
	$(BIN)/staticcheck -tags e2e ./...

## tidy-check: go.mod and go.sum of the main and the tools module need no `go mod tidy`
tidy-check:
	$(GO) mod tidy -diff
	cd tools && $(GO) mod tidy -diff

unit: | node_modules/.bin/cdk
	$(GO) test -count=1 ./...

## race: the packages that start goroutines or share state across them (.ci/race-packages), under the race detector
race:
	@pkgs=$$(GO=$(GO) .ci/race-packages) && [ -n "$$pkgs" ] || { echo "make race: .ci/race-packages found no packages" >&2; exit 1; }; \
	echo $(GO) test -race -count=1 -timeout 5m $$pkgs; \
	$(GO) test -race -count=1 -timeout 5m $$pkgs

## fuzz: every fuzz target in the tree, FUZZTIME (default 15s) each (.ci/fuzz); make fuzz FUZZTIME=5m for longer
fuzz:
	GO=$(GO) $(if $(FUZZTIME),FUZZTIME=$(FUZZTIME) ).ci/fuzz

## e2e: the tests behind the e2e build tag: the functions under the Lambda runtime emulator, routed as the
##      synthesized stack routes (docs/e2e.md), and each function's own binary test
e2e: build $(BIN)/aws-lambda-rie | node_modules/.bin/cdk
	@if [ -n "$(NEED_QEMU)" ] && ! command -v qemu-aarch64-static >/dev/null && ! command -v qemu-aarch64 >/dev/null; then \
		echo "make e2e: qemu-aarch64-static is missing: the linux/arm64 bootstraps run under it on this $$(uname -m) machine." >&2; \
		echo "  Install it once (Debian/Ubuntu): sudo apt-get install -y qemu-user-static   (docs/e2e.md)" >&2; \
		exit 1; \
	fi
	$(GO) test -tags e2e -count=1 -v -timeout 5m $(E2E_PKGS)

## vuln: govulncheck (pinned in tools/go.mod) against the Go vulnerability database at VULNDB; it needs to
##       reach that host, so it is not part of test
VULNDB ?= https://vuln.go.dev
vuln: $(BIN)/govulncheck
	@out=$$($(BIN)/govulncheck -db $(VULNDB) ./... 2>&1); rc=$$?; echo "$$out"; \
	if [ $$rc -ne 0 ] && grep -q 'fetching vulnerabilities' <<<"$$out"; then \
		echo "make vuln: could not reach the Go vulnerability database $(VULNDB), so nothing was checked;" \
			"run it where that host is reachable, or point VULNDB at a mirror (make vuln VULNDB=https://... or file:///...)" >&2; \
	fi; exit $$rc

## tools: build the pinned tools into bin/
tools: $(TOOLS)

$(TOOLS): $(BIN)/%: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(abspath $@) $$($(GO) list tool | grep '/$*$$')
	@touch $@

## bench: Go benchmarks, replay vs jq vs gunzip on a generated archive, bootstrap sizes, cold starts,
##        peak memory; the figures of BENCHMARKS.md. BENCH_SIZE=100MB for a quick run. Not part of test.
.PHONY: bench
bench: $(BIN)/aws-lambda-rie
	GO=$(GO) ./bench/run.sh

## build: cross-compile every function to build/<name>/bootstrap (linux/arm64)
build:
	@for fn in $(FUNCTIONS); do \
		echo "build $$fn"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
			-o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done

## cli: build the eksguard CLI into bin/
cli:
	$(GO) build -o bin/eksguard ./cmd/eksguard

## synth: build the functions and synthesize the CDK app into cdk.out/ (no AWS credentials needed)
##        pass settings with CDK_ARGS, e.g. make synth CDK_ARGS="-c policyFile=policy.yaml -c region=eu-west-1"
.PHONY: synth deploy
CDK ?= npx --no-install cdk
CDK_ARGS ?=
synth: build | node_modules/.bin/cdk
	$(CDK) synth --quiet $(CDK_ARGS)

## deploy: build and deploy every stack (the main one, plus the us-east-1 IAM forwarder when needed)
deploy: build | node_modules/.bin/cdk
	$(CDK) deploy --all $(CDK_ARGS)

node_modules/.bin/cdk:
	npm ci --no-audit --no-fund

clean:
	rm -rf $(BUILD_DIR) bin cdk.out
