# tayori — build, test, benchmark and demo targets. `make test` is what CI runs (.ci/run).
GO          ?= go
BIN         ?= bin/tayori
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 15s
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

.PHONY: build test lint unit fuzz bench demo clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/tayori

# Everything CI checks: formatting, vet, staticcheck, the unit, integration and differential
# tests, and a short run of every fuzz target.
test: lint unit fuzz

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -count=1 ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./classify
	$(GO) test -run '^$$' -fuzz '^FuzzDFA$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./classify
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./config
	$(GO) test -run '^$$' -fuzz '^FuzzConvertTenshi$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 3s ./config

# Go benchmarks (ns/op is ns per line for Classify and Add), then the whole-process benchmark on a
# generated 1,000,000-line corpus, with the reference tenshi for comparison when it is installed.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./classify ./queue ./tailer
	scripts/bench.sh

# The main job on the bundled example: classify the bundled corpus and print the digests
# each queue would mail; then the daemon itself, on logs the demo writes, printing its reports
# (a critical mail at once, the digest of the minute, the digest SIGTERM flushes) within about
# a minute: examples/demo/demo.sh.
demo: build
	$(BIN) check -c examples/tayori.toml
	$(BIN) test -c examples/tayori.toml testdata/corpus/Linux_2k.log testdata/corpus/OpenSSH_2k.log testdata/corpus/Apache_2k.log
	examples/demo/demo.sh $(BIN)

clean:
	rm -rf bin
