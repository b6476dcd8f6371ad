#ifndef DESCENT_CZEROMQ_SHIM_H
#define DESCENT_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>

/// errno as a function, so Swift reads the value libzmq set on this thread.
static inline int descent_zmq_errno(void) { return zmq_errno(); }
#endif
