/* fuzz_set.c - libFuzzer target: the --set override parser (cfg_set_override, one per line).
 * The checks live in fuzz_targets.h, shared with the corpus replay test. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fuzz_set_one(data, size) != 0) abort();
    return 0;
}
