// Test-only LD_PRELOAD shim: the wall clock set back or forward under a running process, as an
// operator or NTP stepping the clock would, without touching the machine's clock. CLOCK_REALTIME (and
// gettimeofday, time) read $ALVEO_CLOCK_OFFSET_FILE: a number of seconds (may be negative) added to the
// real time; CLOCK_MONOTONIC and the others are left alone. (libfaketime 0.9.10 hides argv from Swift
// programs, so this small shim is used instead.) Never used in production.
//
// The kernel's CLOCK_REALTIME is not shifted, so an absolute CLOCK_REALTIME deadline the process
// computes from the shifted clock and hands the kernel is off by the offset: a deadline 2 h in the past
// (offset -7200), a wait that does not wait; 24 h ahead (offset 86400), a wait of a day. That is what a
// wait already in progress meets when the real clock is stepped (the agent's own pauses must not
// depend on it: ClockStepWaitTests). With ALVEO_CLOCK_SHIFT_DEADLINES=1, sem_timedwait (how libdispatch
// waits, its idle worker threads included) gets its deadline shifted back, as on a clock really stepped
// before the wait began: the runtime then waits as long as it asked, instead of churning threads.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long offset_ns(void) {
    const char *path = getenv("ALVEO_CLOCK_OFFSET_FILE");
    if (!path) return 0;
    FILE *file = fopen(path, "r");
    if (!file) return 0;
    double seconds = 0;
    if (fscanf(file, "%lf", &seconds) != 1) seconds = 0;
    fclose(file);
    return (long long)(seconds * 1e9);
}

static void shift(struct timespec *ts, long long ns) {
    long long total = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + ns;
    ts->tv_sec = total / 1000000000LL;
    ts->tv_nsec = total % 1000000000LL;
    if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000LL; ts->tv_sec -= 1; }
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) shift(ts, offset_ns());
    return rc;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    if (rc == 0 && tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
    (void)tz;
    return rc;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}

int sem_timedwait(sem_t *sem, const struct timespec *deadline) {
    static int (*real)(sem_t *, const struct timespec *);
    if (!real) real = (int (*)(sem_t *, const struct timespec *))dlsym(RTLD_NEXT, "sem_timedwait");
    const char *wanted = getenv("ALVEO_CLOCK_SHIFT_DEADLINES");
    if (!wanted || wanted[0] != '1') return real(sem, deadline);
    struct timespec kernel = *deadline;
    shift(&kernel, -offset_ns());
    return real(sem, &kernel);
}
