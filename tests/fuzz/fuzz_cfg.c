/* fuzz_cfg.c - libFuzzer target: the YAML config loader (cfg_load_buffer, with grid:).
 * The checks live in fuzz_targets.h, shared with the corpus replay test. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fuzz_cfg_one(data, size) != 0) abort();
    return 0;
}
