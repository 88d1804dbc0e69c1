/* The ThreadSanitizer self-check of scripts/tsan-concurrency.sh (--probe): loads tests/tsan-probe's cdylib
 * (built like the plugin) and calls `probe_racy` or `probe_guarded` from 4 threads at once.
 *   tsan_probe LIBRARY racy|guarded
 * Built with gcc -fsanitize=thread -rdynamic and tests/c/tsan_shim.c. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint64_t (*probe_fn)(uint64_t);
static probe_fn fn;

static void *run(void *arg) {
    (void)arg;
    fn(20000);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[2], "racy") && strcmp(argv[2], "guarded"))) {
        fprintf(stderr, "usage: %s LIBRARY racy|guarded\n", argv[0]);
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "tsan_probe: %s\n", dlerror());
        return 2;
    }
    fn = (probe_fn)dlsym(h, !strcmp(argv[2], "racy") ? "probe_racy" : "probe_guarded");
    if (!fn) {
        fprintf(stderr, "tsan_probe: %s\n", dlerror());
        return 2;
    }
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, run, NULL)) return 2;
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("tsan_probe: %s done\n", argv[2]);
    return 0;
}
