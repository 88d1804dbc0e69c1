/* Linked into tests/c/concurrency.c by scripts/tsan-concurrency.sh (ThreadSanitizer build only).
 * gcc 12's libtsan lacks the __tsan_mem* entry points newer LLVM (rustc nightly) emits: forward them to
 * the intercepted libc functions, which TSan checks as ranges. */
#include <string.h>
void *__tsan_memcpy(void *d, const void *s, size_t n) { return memcpy(d, s, n); }
void *__tsan_memmove(void *d, const void *s, size_t n) { return memmove(d, s, n); }
void *__tsan_memset(void *d, int c, size_t n) { return memset(d, c, n); }
