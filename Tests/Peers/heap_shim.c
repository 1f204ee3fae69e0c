// Test-only LD_PRELOAD shim: the process's live heap, as malloc itself counts it, for tests that must
// tell a leak from the allocator keeping freed pages (RSS only ever shows the high-water mark of the
// heap). With $ALVEO_HEAP_FILE set, a thread writes "<bytes in use> <bytes held from the system>"
// (mallinfo2: uordblks + hblkhd, arena + hblkhd) to that file every 200 ms, replacing it atomically.
// Never used in production.
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *report(void *argument) {
    const char *path = argument;
    char temporary[4200];
    snprintf(temporary, sizeof temporary, "%s.tmp", path);
    for (;;) {
        struct mallinfo2 info = mallinfo2();
        FILE *file = fopen(temporary, "w");
        if (file) {
            fprintf(file, "%zu %zu\n", info.uordblks + info.hblkhd, info.arena + info.hblkhd);
            fclose(file);
            rename(temporary, path);
        }
        usleep(200000);
    }
    return NULL;
}

__attribute__((constructor)) static void start(void) {
    const char *path = getenv("ALVEO_HEAP_FILE");
    if (!path) return;
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_create(&thread, &attributes, report, (void *)path);
}
