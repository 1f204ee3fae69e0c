#ifndef ALVEO_CSERIALPORT_SHIM_H
#define ALVEO_CSERIALPORT_SHIM_H
#include <libserialport.h>
#include <stddef.h>

// Pseudo-terminal calls for simulated serial devices. glibc declares them only under
// _XOPEN_SOURCE, which Swift's Glibc module is not built with, so declare them here.
extern int posix_openpt(int flags);
extern int grantpt(int fd);
extern int unlockpt(int fd);
extern int ptsname_r(int fd, char *buf, size_t buflen);

static inline int alveo_posix_openpt(int flags) { return posix_openpt(flags); }
static inline int alveo_grantpt(int fd) { return grantpt(fd); }
static inline int alveo_unlockpt(int fd) { return unlockpt(fd); }
static inline int alveo_ptsname_r(int fd, char *buf, size_t buflen) { return ptsname_r(fd, buf, buflen); }
#endif
