#ifndef DESCENT_CLINUXSYNC_SHIM_H
#define DESCENT_CLINUXSYNC_SHIM_H
/* Atomics and futexes on words in memory shared between processes. Swift cannot call the
 * variadic syscall(2) nor the compiler's atomic builtins, so they are wrapped here. */
#include <stdint.h>
#include <time.h>
#include <errno.h>
#include <sched.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

static inline uint32_t descent_atomic_load(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }
static inline void descent_atomic_store(uint32_t *word, uint32_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }
static inline uint32_t descent_atomic_add(uint32_t *word, uint32_t value) { return __atomic_fetch_add(word, value, __ATOMIC_ACQ_REL); }

/* 1 where futexes work (Linux), 0 elsewhere: callers then poll. */
static inline int descent_futex_supported(void) {
#ifdef __linux__
    return 1;
#else
    return 0;
#endif
}

/* Sleeps while *word == expected, at most timeout_ns; returns 0 when woken or when *word already
 * differed, -1 with errno ETIMEDOUT, EINTR or EAGAIN otherwise. Not FUTEX_PRIVATE: the word is in
 * a mapping shared between processes. */
static inline int descent_futex_wait(uint32_t *word, uint32_t expected, long timeout_ns) {
#ifdef __linux__
    struct timespec timeout = { timeout_ns / 1000000000L, timeout_ns % 1000000000L };
    long result = syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout, NULL, 0);
    if (result == -1 && errno == EAGAIN) return 0;
    return (int)result;
#else
    (void)word; (void)expected; (void)timeout_ns;
    errno = ENOSYS;
    return -1;
#endif
}

/* Loads *word until it differs from expected, at most max_ns nanoseconds of spinning (a pause
 * between loads, sched_yield every 64 loads); returns the last value loaded. For a waiter whose
 * CPU is idle anyway: when the scheduler has put it beside a process that has work, the yields
 * let that process run instead of sharing the CPU with the spinner turn and turn about. */
static inline uint32_t descent_spin_while_equals(const uint32_t *word, uint32_t expected, long max_ns) {
    uint32_t value = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (value != expected || max_ns <= 0) return value;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned spins = 1;; spins++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        value = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (value != expected) return value;
        if (spins % 64 == 0) {
            sched_yield();
            clock_gettime(CLOCK_MONOTONIC, &now);
            if ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) >= max_ns) return value;
        }
    }
}

/* Wakes up to `count` processes sleeping on *word. */
static inline int descent_futex_wake(uint32_t *word, int count) {
#ifdef __linux__
    return (int)syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
#else
    (void)word; (void)count;
    return 0;
#endif
}

/* Pins the calling thread (and the threads it starts afterwards) to one CPU. The raw system call
 * avoids the CPU_SET macros, which a module built without _GNU_SOURCE does not see. */
static inline int descent_pin_to_cpu(int cpu) {
#ifdef __linux__
    unsigned long mask[16] = {0};
    const int bits = (int)(8 * sizeof(unsigned long));
    if (cpu < 0 || cpu >= 16 * bits) { errno = EINVAL; return -1; }
    mask[cpu / bits] |= 1UL << (cpu % bits);
    return (int)syscall(SYS_sched_setaffinity, 0, sizeof(mask), mask);
#else
    (void)cpu;
    errno = ENOSYS;
    return -1;
#endif
}
/* Process settings Swift cannot reach: prctl(2) is variadic, mallopt lives in <malloc.h>. */
#ifdef __linux__
#include <sys/prctl.h>
#include <malloc.h>
/* Asks the kernel to send `signal` to this process when its parent exits; 0 on success. */
static inline int descent_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0); }
/* Keeps glibc's mmap threshold fixed at `bytes`, so large freed blocks go back to the system. */
static inline int descent_fix_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
/* Free memory at the top of a glibc heap above `bytes` goes back to the system. */
static inline int descent_fix_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }
#else
static inline int descent_set_parent_death_signal(int signal) { (void)signal; return -1; }
static inline int descent_fix_mmap_threshold(int bytes) { (void)bytes; return 0; }
static inline int descent_fix_trim_threshold(int bytes) { (void)bytes; return 0; }
#endif

#endif
