/*
 * fuzz.h — libFuzzer entry point shared by every fuzz target in tests/fuzz/.
 *
 * Each target is built twice: with clang -fsanitize=fuzzer (cmake -DVS_FUZZ=ON, for
 * real fuzzing runs) and with driver.c, a plain main() that replays a corpus directory
 * through the target (run by the test command, so every seed and every crash input
 * that was ever saved stays a regression test).
 */
#ifndef VS_FUZZ_H
#define VS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
