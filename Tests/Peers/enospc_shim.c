// Test-only LD_PRELOAD shim: a disk that fills up and frees again, on demand, for the files whose
// path contains $ALVEO_FAULT_MATCH (e.g. "journal-"). While the file $ALVEO_FAULT_FLAG exists, write,
// writev, pwrite and fsync on such files fail with ENOSPC, as on a full file system; remove the flag
// and they work again. The agent sees the very errors a full disk gives, through its real code paths.
// While the file $ALVEO_READONLY_FLAG exists, opening or creating such a path for writing (open,
// openat, creat, mkdir) fails with EROFS, as on a file system mounted read-only.
// Never used in production.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int faulty(int fd) {
    const char *flag = getenv("ALVEO_FAULT_FLAG"), *match = getenv("ALVEO_FAULT_MATCH");
    if (!flag || !match || fd < 0) return 0;
    struct stat st;
    if (stat(flag, &st) != 0) return 0;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = 0;
    return strstr(target, match) != NULL;
}

ssize_t write(int fd, const void *buffer, size_t count) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = dlsym(RTLD_NEXT, "write");
    if (faulty(fd)) { errno = ENOSPC; return -1; }
    return real(fd, buffer, count);
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    static ssize_t (*real)(int, const struct iovec *, int);
    if (!real) real = dlsym(RTLD_NEXT, "writev");
    if (faulty(fd)) { errno = ENOSPC; return -1; }
    return real(fd, iov, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = dlsym(RTLD_NEXT, "pwrite");
    if (faulty(fd)) { errno = ENOSPC; return -1; }
    return real(fd, buffer, count, offset);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fsync");
    if (faulty(fd)) { errno = ENOSPC; return -1; }
    return real(fd);
}

static int readonly(const char *path, int flags) {
    const char *flag = getenv("ALVEO_READONLY_FLAG"), *match = getenv("ALVEO_FAULT_MATCH");
    if (!flag || !match || !path) return 0;
    if ((flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) == 0) return 0;
    struct stat st;
    if (stat(flag, &st) != 0) return 0;
    return strstr(path, match) != NULL;
}

int open(const char *path, int flags, ...) {
    static int (*real)(const char *, int, ...);
    if (!real) real = dlsym(RTLD_NEXT, "open");
    mode_t mode = 0;
    if (flags & O_CREAT) { va_list args; va_start(args, flags); mode = va_arg(args, mode_t); va_end(args); }
    if (readonly(path, flags)) { errno = EROFS; return -1; }
    return real(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    static int (*real)(const char *, int, ...);
    if (!real) real = dlsym(RTLD_NEXT, "open64");
    mode_t mode = 0;
    if (flags & O_CREAT) { va_list args; va_start(args, flags); mode = va_arg(args, mode_t); va_end(args); }
    if (readonly(path, flags)) { errno = EROFS; return -1; }
    return real(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
    static int (*real)(int, const char *, int, ...);
    if (!real) real = dlsym(RTLD_NEXT, "openat");
    mode_t mode = 0;
    if (flags & O_CREAT) { va_list args; va_start(args, flags); mode = va_arg(args, mode_t); va_end(args); }
    if (readonly(path, flags)) { errno = EROFS; return -1; }
    return real(dirfd, path, flags, mode);
}

int mkdir(const char *path, mode_t mode) {
    static int (*real)(const char *, mode_t);
    if (!real) real = dlsym(RTLD_NEXT, "mkdir");
    if (readonly(path, O_CREAT)) { errno = EROFS; return -1; }
    return real(path, mode);
}
