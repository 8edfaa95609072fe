# The README's two commands. Each first runs scripts/setup.sh, which installs only what is missing
# (apt-get for system packages, .venv for Python clients) and takes a moment when nothing is.
#
#   make run     transcribe Samples/hello-world.wav end to end on the embedded defaults (no Redis)
#   make test    the whole test suite, with every tool it drives present: a missing one fails;
#                then every benchmark in its smoke mode
#   make up      the gateway, orchestrator and engines in one process on http://127.0.0.1:8000
#
# `swift test` alone still works on a machine set up by hand: tests whose tools are absent skip.

SHELL := /bin/bash
# Swift's toolchain where this project's machines keep it, when it is not on PATH already.
export PATH := $(PATH):/opt/swift/usr/bin

AUDIO ?= Samples/hello-world.wav
SWIFT_TEST_FLAGS ?=

.PHONY: run test bench-smoke up setup-run setup-test

run: setup-run
	swift run dalston transcribe --embedded $(AUDIO)

test: setup-test
	DALSTON_REQUIRE_TEST_TOOLS=true swift test $(SWIFT_TEST_FLAGS)
	$(MAKE) bench-smoke

# Every benchmark part with tiny counts (seconds each): the figures mean nothing, but a part that
# no longer starts, hangs or fails is caught here instead of when someone next measures.
bench-smoke:
	swift build --product dalston
	swift run dalston-benchmarks all --smoke
	.venv/bin/python3 Benchmarks/whisper_compare.py "$$(swift build --show-bin-path)/dalston" --smoke

up: setup-run
	swift run dalston up

setup-run:
	@scripts/setup.sh run

setup-test:
	@scripts/setup.sh test
