# autorec - build, test, data and benchmark entry points.
#   make          build ./autorec
#   make run      install deps, build, get ML-100K, train configs/seed.yaml (seeds 0..4)
#   make test     install deps, build, run every test (final line: N passed, N failed, N skipped)
#   make bench    each kernel and thread count on the seed config (autorec bench),
#                 then its data loading: parsed, uncached and cached (bench --load),
#                 then the ML-1M shape phase by phase (bench --shape ml-1m; other
#                 shapes: ./autorec bench --shape ml-10m|netflix, docs/performance.md)
#   make bench-query   query speed on a 10,000-run database
#   make bench-torch   whole processes against the PyTorch reference (installs
#                 python3-torch when missing; BENCH_TORCH_ARGS="--rounds 7")
#   make data     obtain ML-100K into data/ (copy from $AUTOREC_DATA_MIRROR or download)
#   make docs     regenerate docs/config-keys.md and docs/schema.md from the code
#   make test SAN=1   the suite built with AddressSanitizer + UBSan (in build/san/)
#   make fuzz     libFuzzer targets, FUZZ_SECONDS (60) each;  make valgrind

ifeq ($(origin CC),default)
CC = gcc
endif
ARCH    ?= -march=native
OPT     ?= -O2
CFLAGS  += -std=c11 -Wall -Wextra $(OPT) $(ARCH) -fopenmp -fno-math-errno -g \
           -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
           -isystem /usr/include/$(shell gcc -print-multiarch)/blis-openmp \
           $(shell pkg-config --cflags yaml-0.1 sqlite3 libmicrohttpd 2>/dev/null)
BLIS_A  ?= /usr/lib/$(shell gcc -print-multiarch)/blis-openmp/libblis.a
LDLIBS  += $(BLIS_A) $(shell pkg-config --libs yaml-0.1 sqlite3 libmicrohttpd 2>/dev/null || echo -lyaml -lsqlite3 -lmicrohttpd) -lm -lpthread
LDFLAGS += -fopenmp

BUILD   := build
BIN     := autorec
TEST_ROOT :=
TEST_ENV  :=
# SAN=1: AddressSanitizer + UndefinedBehaviorSanitizer.  Objects and binaries
# go to build/san/; the suite runs from build/san/root (links to tests/,
# configs/, tools/, data/ beside its own autorec and build/unit_tests), so
# ./autorec and build/ always stay the normal build.
ifeq ($(SAN),1)
BUILD   := build/san
BIN     := $(BUILD)/root/autorec
TEST_ROOT := $(BUILD)/root/
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS  += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
TEST_ENV := AUTOREC_SAN=1 \
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:halt_on_error=1:$(ASAN_OPTIONS) \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:$(UBSAN_OPTIONS)
endif
LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/%.o) $(BUILD)/web_assets.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_OBJ := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%.o)
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

.PHONY: all deps data docs run test bench bench-query bench-torch clean
all: $(BIN)

deps:
	@bash tools/install_deps.sh

$(BIN): $(BUILD)/main.o $(LIB_OBJ) | $(TEST_ROOT:%=%.links)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(TEST_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Every tests/test_NAME.c defines suite_NAME(); test_main.c runs the list.
SUITE_NAMES := $(filter-out main,$(TEST_SRC:tests/test_%.c=%))
$(BUILD)/suites.h: FORCE | $(BUILD)
	@printf '#define SUITES(X) %s\n' '$(foreach s,$(SUITE_NAMES),X($(s)))' | cmp -s - $@ \
	  || printf '#define SUITES(X) %s\n' '$(foreach s,$(SUITE_NAMES),X($(s)))' > $@
$(BUILD)/tests/test_main.o: $(BUILD)/suites.h

# version.o records the commit: rebuilt whenever it changes.
$(BUILD)/commit.txt: FORCE | $(BUILD)
	@echo '$(GIT_COMMIT)' | cmp -s - $@ || echo '$(GIT_COMMIT)' > $@
$(BUILD)/version.o: $(BUILD)/commit.txt
$(BUILD)/version.o: CFLAGS += -DAUTOREC_GIT_COMMIT='"$(GIT_COMMIT)"'
FORCE:

# Objects are rebuilt when the compiler flags change (flags.txt).
$(BUILD)/flags.txt: FORCE | $(BUILD)
	@echo '$(CC) $(CFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS)' > $@

$(BUILD)/%.o: src/%.c $(BUILD)/flags.txt | $(BUILD)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The dashboard's own files (web/) are compiled into the binary, so
# `autorec serve` works from any directory (tools/embed_web.sh).
WEB_FILES := $(sort $(wildcard web/*))
$(BUILD)/web_assets.c: $(WEB_FILES) tools/embed_web.sh | $(BUILD)
	@bash tools/embed_web.sh $@ $(WEB_FILES)
$(BUILD)/web_assets.o: $(BUILD)/web_assets.c $(BUILD)/flags.txt
	$(CC) $(CFLAGS) -Isrc -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c $(BUILD)/flags.txt | $(BUILD)
	$(CC) $(CFLAGS) -Isrc -I$(BUILD) -MMD -MP -c -o $@ $<

$(BUILD):
	@mkdir -p $(BUILD)/tests

data:
	@bash tools/get_data.sh

# The references generated from the code (autorec help config|schema
# --markdown); tests/cli_docs.sh fails when they are out of date.
docs: $(BIN)
	@bash tools/gen_docs.sh --bin ./$(BIN)

run: deps
	@$(MAKE) --no-print-directory autorec data
	@bash tools/reproduce.sh

test: deps
	@$(MAKE) --no-print-directory $(BIN) $(BUILD)/unit_tests $(TEST_ROOT:%=%.links)
	@$(TEST_ENV) bash $(TEST_ROOT)tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory autorec data
	./autorec bench
	./autorec bench --load
	./autorec bench --shape ml-1m --repeats 3

# Query speed on a generated 10,000 runs x 100 epochs database.
bench-query: deps
	@$(MAKE) --no-print-directory autorec
	@bash tools/bench_query.sh

# autorec against the PyTorch reference (tools/bench_torch.sh; torch is
# installed here only, never by `make deps`).
bench-torch:
	@bash tools/install_deps.sh --torch
	@$(MAKE) --no-print-directory autorec data
	@bash tools/bench_torch.sh $(BENCH_TORCH_ARGS)

clean:
	rm -rf $(BUILD) autorec

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d)

# ---- SAN=1 test tree, fuzzing, valgrind ---------------------------------
ifeq ($(SAN),1)
.PHONY: autorec
autorec: $(BIN)
$(BUILD)/root/.links: | $(BUILD)
	@mkdir -p data $(BUILD)/root/build
	@for d in tests configs tools data; do ln -sfn ../../../$$d $(BUILD)/root/$$d; done
	@ln -sfn ../../unit_tests $(BUILD)/root/build/unit_tests
	@touch $@
endif

# libFuzzer targets tests/fuzz/fuzz_*.c (clang; tools/fuzz.sh runs them).
FUZZ_CC   ?= clang
FUZZ_SRC  := src/cfg.c src/data.c src/data_scan.c src/data_cache.c src/data_memo.c \
             src/err.c src/mem.c src/rng.c
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
.PHONY: fuzz fuzz-build valgrind
fuzz-build: $(FUZZ_BINS)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_targets.h $(FUZZ_SRC) $(wildcard src/*.h)
	@mkdir -p build/fuzz
	$(FUZZ_CC) -std=c11 -Wall -Wextra -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc -o $@ $< $(FUZZ_SRC) -lyaml -lm
fuzz:
	@bash tools/fuzz.sh
valgrind:
	@bash tools/valgrind.sh
