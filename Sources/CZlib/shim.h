#ifndef DESCENT_CZLIB_SHIM_H
#define DESCENT_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 is a macro; Swift cannot call it directly.
static inline int descent_inflate_init2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}
#endif
