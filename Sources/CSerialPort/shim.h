#ifndef ALVEO_CSERIALPORT_SHIM_H
#define ALVEO_CSERIALPORT_SHIM_H
#include <libserialport.h>
#endif
