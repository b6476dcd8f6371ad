#ifndef DESCENT_CZEROMQ_SHIM_H
#define DESCENT_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>

/// errno as a function, so Swift reads the value libzmq set on this thread.
static inline int descent_zmq_errno(void) { return zmq_errno(); }

/// The error codes Descent tells apart, as functions: some are libzmq macros built from
/// ZMQ_HAUSNUMERO arithmetic, which Swift does not always import as constants.
static inline int descent_zmq_code_eterm(void) { return ETERM; }
static inline int descent_zmq_code_eagain(void) { return EAGAIN; }
static inline int descent_zmq_code_eintr(void) { return EINTR; }
static inline int descent_zmq_code_ehostunreach(void) { return EHOSTUNREACH; }
static inline int descent_zmq_code_enotsock(void) { return ENOTSOCK; }
static inline int descent_zmq_code_einval(void) { return EINVAL; }
#endif
