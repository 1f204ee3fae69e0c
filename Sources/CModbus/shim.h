#ifndef ALVEO_CMODBUS_SHIM_H
#define ALVEO_CMODBUS_SHIM_H
// Include path is <modbus/modbus.h> on Debian.
#include <modbus/modbus.h>
#include <errno.h>

// libmodbus exposes its version as exported globals; a function keeps the call site obvious.
static inline unsigned int alveo_modbus_version_major(void) { return libmodbus_version_major; }
static inline unsigned int alveo_modbus_version_minor(void) { return libmodbus_version_minor; }
static inline unsigned int alveo_modbus_version_micro(void) { return libmodbus_version_micro; }

// The EMB* error macros are expressions Swift cannot import; these give their values.
static inline int alveo_modbus_emb_first_exception(void) { return EMBXILFUN; }
static inline int alveo_modbus_emb_gateway_target(void) { return EMBXGTAR; }
static inline int alveo_modbus_emb_bad_crc(void) { return EMBBADCRC; }
static inline int alveo_modbus_emb_bad_data(void) { return EMBBADDATA; }
static inline int alveo_modbus_emb_bad_exception(void) { return EMBBADEXC; }
static inline int alveo_modbus_emb_unknown_exception(void) { return EMBUNKEXC; }
static inline int alveo_modbus_emb_too_much_data(void) { return EMBMDATA; }
static inline int alveo_modbus_emb_bad_slave(void) { return EMBBADSLAVE; }

// errno is a macro over a thread-local; read it right after the failing call, on the same thread.
static inline int alveo_errno(void) { return errno; }
#endif
