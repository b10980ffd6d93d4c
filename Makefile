# autorec - build, test, data and benchmark entry points.
#   make          build ./autorec
#   make run      install deps, build, get ML-100K, train configs/seed.yaml (seeds 0..4)
#   make test     install deps, build, run every test (final line: N passed, N failed)
#   make bench    wall-clock benchmark of the seed config
#   make data     obtain ML-100K into data/ (copy from $AUTOREC_DATA_MIRROR or download)

ifeq ($(origin CC),default)
CC = gcc
endif
ARCH    ?= -march=native
OPT     ?= -O2
CFLAGS  += -std=c11 -Wall -Wextra $(OPT) $(ARCH) -fopenmp -g \
           -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
           -isystem /usr/include/$(shell gcc -print-multiarch)/blis-openmp \
           $(shell pkg-config --cflags yaml-0.1 sqlite3 2>/dev/null)
BLIS_A  ?= /usr/lib/$(shell gcc -print-multiarch)/blis-openmp/libblis.a
LDLIBS  += $(BLIS_A) $(shell pkg-config --libs yaml-0.1 sqlite3 2>/dev/null || echo -lyaml -lsqlite3) -lm -lpthread
LDFLAGS += -fopenmp

BUILD   := build
LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_OBJ := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%.o)
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

.PHONY: all deps data run test bench clean
all: autorec

deps:
	@bash tools/install_deps.sh

autorec: $(BUILD)/main.o $(LIB_OBJ)
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

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c | $(BUILD)
	$(CC) $(CFLAGS) -Isrc -I$(BUILD) -MMD -MP -c -o $@ $<

$(BUILD):
	@mkdir -p $(BUILD)/tests

data:
	@bash tools/get_data.sh

run: deps
	@$(MAKE) --no-print-directory autorec data
	@bash tools/reproduce.sh

test: deps
	@$(MAKE) --no-print-directory autorec $(BUILD)/unit_tests
	@bash tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory autorec data
	@bash tools/bench.sh

clean:
	rm -rf $(BUILD) autorec

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d)
