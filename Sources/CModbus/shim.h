#ifndef ALVEO_CMODBUS_SHIM_H
#define ALVEO_CMODBUS_SHIM_H
// Include path is <modbus/modbus.h> on Debian; pkg-config adds -I/usr/include/modbus but be explicit.
#include <modbus/modbus.h>

// libmodbus exposes its version as exported globals; Swift imports them, but a function keeps the
// call site obvious and survives a future switch to macros-only headers.
static inline unsigned int alveo_modbus_version_major(void) { return libmodbus_version_major; }
static inline unsigned int alveo_modbus_version_minor(void) { return libmodbus_version_minor; }
static inline unsigned int alveo_modbus_version_micro(void) { return libmodbus_version_micro; }
#endif
