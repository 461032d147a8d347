# eksguard: see README.md. `make demo` and `make test` are the two entry points.
SHELL := /bin/bash
GO ?= go
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

# The Lambda functions: one per event family (shared/families) plus the Slack notifier.
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR := build

.PHONY: demo test unit vet fmt-check build cli clean

## demo: replay the sample events in events/ with the built-in policy
demo:
	$(GO) run ./cmd/eksguard replay --fail-on none events/

## test: everything CI runs
test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

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

clean:
	rm -rf $(BUILD_DIR) bin cdk.out
