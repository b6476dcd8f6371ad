#ifndef DESCENT_CDNNL_SHIM_H
#define DESCENT_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
#include <dlfcn.h>

/* oneDNN (Debian's libdnnl) runs on OpenMP, whose thread count is a setting of each calling
 * thread (OMP_NUM_THREADS sets the starting value only when the library loads). libgomp is loaded
 * with libdnnl, so omp_set_num_threads is looked up at run time rather than linked against the
 * development symlink that only the C compiler's private directory holds. NULL when absent. */
typedef void (*descent_omp_set_num_threads_t)(int);

static inline descent_omp_set_num_threads_t descent_omp_set_num_threads_function(void) {
    return (descent_omp_set_num_threads_t)dlsym(RTLD_DEFAULT, "omp_set_num_threads");
}
#endif
