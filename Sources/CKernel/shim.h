#ifndef ALVEO_CKERNEL_SHIM_H
#define ALVEO_CKERNEL_SHIM_H
#include <sys/timex.h>

// 1: the kernel reports the clock synchronised; 0: not (TIME_ERROR or STA_UNSYNC); -1: cannot ask.
static inline int alveo_clock_synchronized(void) {
    struct timex timex = {0};
    int state = adjtimex(&timex);
    if (state < 0) return -1;
    return (state != TIME_ERROR && (timex.status & STA_UNSYNC) == 0) ? 1 : 0;
}
#endif
