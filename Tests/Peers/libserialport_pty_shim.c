// Test-only LD_PRELOAD shim: lets libserialport 0.1.1 open a pseudo-terminal (a socat pty pair), so
// tests exercise Alveo's real libserialport code path without hardware. Never used in production.
//
// libserialport identifies a port through /sys/class/tty/<name>; ptys live at /dev/pts/N and have
// no /sys/class/tty/pts/N, so the lookups are redirected to /sys/class/tty/ptmx. It then reads the
// modem lines (TIOCMGET/TIOCMSET/TIOCMBIS/TIOCMBIC), which a pty refuses with ENOTTY: report success.
// Debian's libserialport calls __lxstat (not lstat), readlink, fopen and opendir for the lookups.
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>

static const char *redirect(const char *path, char *buffer, size_t size) {
    const char *prefix = "/sys/class/tty/pts/";
    size_t n = strlen(prefix);
    if (path && strncmp(path, prefix, n) == 0) {
        const char *rest = strchr(path + n, '/');  // keep anything after "pts/N"
        snprintf(buffer, size, "/sys/class/tty/ptmx%s", rest ? rest : "");
        return buffer;
    }
    return path;
}

int __lxstat(int version, const char *path, struct stat *st) {
    static int (*real)(int, const char *, struct stat *);
    if (!real) real = dlsym(RTLD_NEXT, "__lxstat");
    char buffer[512];
    return real(version, redirect(path, buffer, sizeof buffer), st);
}

ssize_t readlink(const char *path, char *out, size_t size) {
    static ssize_t (*real)(const char *, char *, size_t);
    if (!real) real = dlsym(RTLD_NEXT, "readlink");
    char buffer[512];
    return real(redirect(path, buffer, sizeof buffer), out, size);
}

FILE *fopen(const char *path, const char *mode) {
    static FILE *(*real)(const char *, const char *);
    if (!real) real = dlsym(RTLD_NEXT, "fopen");
    char buffer[512];
    return real(redirect(path, buffer, sizeof buffer), mode);
}

DIR *opendir(const char *path) {
    static DIR *(*real)(const char *);
    if (!real) real = dlsym(RTLD_NEXT, "opendir");
    char buffer[512];
    return real(redirect(path, buffer, sizeof buffer));
}

int ioctl(int fd, unsigned long request, ...) {
    static int (*real)(int, unsigned long, ...);
    if (!real) real = dlsym(RTLD_NEXT, "ioctl");
    va_list args;
    va_start(args, request);
    void *argument = va_arg(args, void *);
    va_end(args);
    int result = real(fd, request, argument);
    if (result < 0 && (errno == ENOTTY || errno == EINVAL) &&
        (request == TIOCMGET || request == TIOCMSET || request == TIOCMBIS || request == TIOCMBIC)) {
        if (request == TIOCMGET && argument) *(int *)argument = TIOCM_DSR | TIOCM_CTS | TIOCM_CD;
        errno = 0;
        return 0;
    }
    return result;
}
