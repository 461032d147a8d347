# eksguard: see README.md. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
GO ?= go
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

# The Lambda functions: one per event family (shared/families) plus the Slack notifier.
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR := build

# make e2e runs the linux/arm64 function binaries; on other machines under
# Debian's user-mode emulator.
QEMU := $(if $(filter aarch64 arm64,$(shell uname -m)),,/usr/bin/qemu-aarch64-static)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test unit e2e vet fmt-check build cli clean

## demo: replay the sample events in events/ with the built-in policy
demo:
	$(GO) run ./cmd/eksguard replay --fail-on none events/

## test: everything CI runs
test: fmt-check vet unit e2e

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './node_modules/*' -not -path './build/*' -not -path './cdk.out/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags e2e ./...

unit: | node_modules/.bin/cdk
	$(GO) test -count=1 ./...

## e2e: the built functions under the Lambda runtime emulator, routed as the synthesized stack routes (docs/e2e.md)
e2e: build | node_modules/.bin/cdk $(QEMU)
	$(GO) test -tags e2e -count=1 -v -timeout 5m ./e2e/

## bench: Go benchmarks, replay vs jq vs gunzip on a generated archive, bootstrap sizes, cold starts,
##        peak memory; the figures of BENCHMARKS.md. BENCH_SIZE=100MB for a quick run. Not part of test.
.PHONY: bench
bench:
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

/usr/bin/qemu-aarch64-static:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static

clean:
	rm -rf $(BUILD_DIR) bin cdk.out
