/* fuzz_data.c - libFuzzer target: the ratings parsers (data_parse_buffer; byte 0 picks ml-100k, ml-1m or csv).
 * The checks live in fuzz_targets.h, shared with the corpus replay test. */
#include "fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fuzz_data_one(data, size) != 0) abort();
    return 0;
}
