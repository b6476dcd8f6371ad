/* How the structure of one synchronous step decides what 2 workers on 2 cores gain over one core,
 * with the compute held fixed: the same C training step (gather, the five GEMMs through oneDNN's
 * sgemm, bias, ReLU, softmax) in threads of one program, so that only the structure differs.
 * Each round runs, back to back (order alternating), at global batch 2B:
 *   one core          one thread pinned to CPU 0 training at batch 2B (gradient, then SGD);
 *   split update      two threads pinned to CPUs 0 and 1, batch B each, meeting at spin barriers;
 *                     each sums the two gradients over half of the parameters and applies SGD there;
 *   serial update     the same, but thread 0 sums and applies all of it while thread 1 waits;
 *   coordinator       Descent's shape: a third, unpinned thread sleeps on a futex for the first
 *                     gradient, spins for the second, sums and applies in one sweep, publishes the
 *                     step and wakes the workers, who sleep on a futex between steps;
 *   coordinator, Descent's sweeps: the same with the coordinator's arithmetic as Descent's
 *                     kernels do it: the first gradient staged while the second is computed, then
 *                     stage the second, mean and norm (16 double lanes), SGD: three sweeps of
 *                     400 KB after the last gradient instead of one.
 * Ratios are wall-clock samples per second over the one-core thread's, medians over the rounds.
 * With a third argument `processes` the two workers of every variant are forked processes instead
 * of threads (the coordinator stays in the parent), sharing the buffers and words in a MAP_SHARED
 * mapping, as Descent's workers share its segment.
 *
 * `probe` measures instead what one worker's gradient costs when the parameters it reads were
 * last written on the other CPU (as the coordinator or the other worker writes them between steps)
 * against written on its own CPU, and with the other CPU writing but the worker computing on
 * private copies (copied in before, the gradient copied out after, the copies timed with it);
 * each in its own round, alternating, medians over the round's steps.
 *   cc -O3 -march=native one_host_structure.c -o one_host_structure -ldnnl -lpthread -lm
 *   OMP_NUM_THREADS=1 ./one_host_structure [B] [ROUNDS] [processes]   (defaults 32, 7, threads)
 *   OMP_NUM_THREADS=1 ./one_host_structure probe [B] [ROUNDS]
 * Needs 2 CPUs. It trains on fixed pseudo-random bytes, not MNIST: only the speed is of interest. */
#define _GNU_SOURCE
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <immintrin.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <signal.h>

enum { IN = 784, HID = 128, OUT = 10, NP = IN * HID + HID + HID * OUT + OUT, IMAGES = 5000 };
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void gemm(char ta, char tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (dnnl_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) != dnnl_success) { fprintf(stderr, "dnnl_sgemm failed\n"); exit(1); }
}
static void *aligned(size_t n) { void *p; if (posix_memalign(&p, 64, n)) exit(1); memset(p, 0, n); return p; }
/* Memory that forked workers share with the parent (page-aligned, zeroed). */
static void *shared(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}
static unsigned char *pixels; static unsigned char *labels;
static float *P; static float *G[2];

typedef struct { int batch; float *X, *H, *Z, *DA; unsigned seed; int *rows; } Work;
static Work work_new(int batch, unsigned seed) {
    Work w = { batch, aligned(sizeof(float) * batch * IN), aligned(sizeof(float) * batch * HID), aligned(sizeof(float) * batch * OUT), aligned(sizeof(float) * batch * HID), seed, aligned(sizeof(int) * batch) };
    return w;
}
/* gradient of the mean loss over `scale_batch` samples, this worker's `batch` of them, into g */
static void gradient(Work *w, const float *p, float *g, int scale_batch) {
    int B = w->batch;
    const float *W1 = p, *b1 = p + IN * HID, *W2 = b1 + HID, *b2 = W2 + HID * OUT;
    float *gW1 = g, *gb1 = g + IN * HID, *gW2 = gb1 + HID, *gb2 = gW2 + HID * OUT;
    for (int i = 0; i < B; i++) { w->seed = w->seed * 1664525u + 1013904223u; w->rows[i] = (w->seed >> 8) % IMAGES; }
    for (int i = 0; i < B; i++) { const unsigned char *src = pixels + (size_t)w->rows[i] * IN; float *dst = w->X + (size_t)i * IN; for (int j = 0; j < IN; j++) dst[j] = src[j] * (1.0f / 255); }
    gemm('N', 'N', B, HID, IN, 1, w->X, IN, W1, HID, 0, w->H, HID);
    for (int i = 0; i < B; i++) for (int j = 0; j < HID; j++) { float v = w->H[i * HID + j] + b1[j]; w->H[i * HID + j] = v > 0 ? v : 0; }
    gemm('N', 'N', B, OUT, HID, 1, w->H, HID, W2, OUT, 0, w->Z, OUT);
    float inv = 1.0f / scale_batch;
    for (int i = 0; i < B; i++) {
        float *z = w->Z + i * OUT, m = -INFINITY, s = 0;
        for (int j = 0; j < OUT; j++) { z[j] += b2[j]; if (z[j] > m) m = z[j]; }
        for (int j = 0; j < OUT; j++) { z[j] = expf(z[j] - m); s += z[j]; }
        for (int j = 0; j < OUT; j++) z[j] = (z[j] / s - (j == labels[w->rows[i]])) * inv;
    }
    gemm('T', 'N', HID, OUT, B, 1, w->H, HID, w->Z, OUT, 0, gW2, OUT);
    for (int j = 0; j < OUT; j++) { float s = 0; for (int i = 0; i < B; i++) s += w->Z[i * OUT + j]; gb2[j] = s; }
    gemm('N', 'T', B, HID, OUT, 1, w->Z, OUT, W2, OUT, 0, w->DA, HID);
    for (int j = 0; j < HID; j++) gb1[j] = 0;
    for (int i = 0; i < B; i++) for (int j = 0; j < HID; j++) { float d = w->H[i * HID + j] > 0 ? w->DA[i * HID + j] : 0; w->DA[i * HID + j] = d; gb1[j] += d; }
    gemm('T', 'N', IN, HID, B, 1, w->X, IN, w->DA, HID, 0, gW1, HID);
}
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); pthread_setaffinity_np(pthread_self(), sizeof s, &s); }

/* sense-reversing spin barrier for 2 */
static _Atomic int *arrived, *sense;
static void barrier(int *local) { *local = !*local; if (atomic_fetch_add(arrived, 1) == 1) { atomic_store(arrived, 0); atomic_store(sense, *local); } else while (atomic_load_explicit(sense, memory_order_acquire) != *local) _mm_pause(); }

/* Starts body(0) and body(1), as threads or (`processes`) forked processes; join_pair waits for them.
 * A worker process dies with this program (PR_SET_PDEATHSIG); when one dies, this program kills the
 * other and exits 1 rather than wait for it at a barrier forever. */
static int processes;
typedef struct { pthread_t thread[2]; pid_t pid[2]; } Pair;
static pid_t worker_pids[2];
static void workers_failed(pid_t pid, const char *how, int code) {
    fprintf(stderr, "worker process %d %s %d; stopping\n", (int)pid, how, code);
    for (int r = 0; r < 2; r++) if (worker_pids[r] != pid) kill(worker_pids[r], SIGKILL);
    exit(1);
}
/* Exits (see above) when a worker process has ended other than with status 0; leaves it unreaped. */
static void check_workers(void) {
    if (!processes) return;
    siginfo_t info = { 0 };
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0 && (info.si_code != CLD_EXITED || info.si_status != 0))
        workers_failed(info.si_pid, info.si_code == CLD_EXITED ? "exited with status" : "was killed by signal", info.si_status);
}
static Pair start_pair(void *(*body)(void *)) {
    Pair pair;
    pid_t parent = getpid();
    for (long r = 0; r < 2; r++) {
        if (!processes) { pthread_create(&pair.thread[r], NULL, body, (void *)r); continue; }
        pair.pid[r] = worker_pids[r] = fork();
        if (pair.pid[r] < 0) { perror("fork"); exit(1); }
        if (pair.pid[r] == 0) {
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(1);
            body((void *)r);
            _exit(0);
        }
    }
    return pair;
}
static void join_pair(Pair pair) {
    for (int r = 0; r < 2; r++) {
        if (!processes) { pthread_join(pair.thread[r], NULL); continue; }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) { perror("waitpid"); exit(1); }
        if (!WIFEXITED(status)) workers_failed(pid, "was killed by signal", WTERMSIG(status));
        if (WEXITSTATUS(status) != 0) workers_failed(pid, "exited with status", WEXITSTATUS(status));
    }
    worker_pids[0] = worker_pids[1] = 0;
}

static int mode; /* 0: split update, 1: serial update by thread 0 */
static long steps; static int B; static float lr = 0.1f;
static void *split_worker(void *arg) {
    int r = (int)(long)arg; pin(r); int local = 0;
    Work w = work_new(B, 12345 + r);
    long lo = r == 0 ? 0 : NP / 2 / 16 * 16, hi = r == 0 ? NP / 2 / 16 * 16 : NP;
    barrier(&local);
    for (long s = 0; s < steps; s++) {
        gradient(&w, P, G[r], 2 * B);
        barrier(&local);
        if (mode == 0) { for (long i = lo; i < hi; i++) P[i] -= lr * (G[0][i] + G[1][i]); }
        else if (r == 0) { for (long i = 0; i < NP; i++) P[i] -= lr * (G[0][i] + G[1][i]); }
        barrier(&local);
    }
    return NULL;
}
static double run_split(int m) {
    mode = m; atomic_store(arrived, 0); atomic_store(sense, 0); double t0 = now();
    join_pair(start_pair(split_worker));
    return steps * 2.0 * B / (now() - t0);
}
static void *single(void *arg) {
    (void)arg; pin(0); Work w = work_new(2 * B, 999);
    for (long s = 0; s < steps; s++) { gradient(&w, P, G[0], 2 * B); for (long i = 0; i < NP; i++) P[i] -= lr * G[0][i]; }
    return NULL;
}
static double run_single(void) {
    pthread_t t; double t0 = now();
    pthread_create(&t, NULL, single, NULL); pthread_join(t, NULL);
    return steps * 2.0 * B / (now() - t0);
}
/* Descent's structure: a coordinator thread (not pinned) sums and applies; workers sleep on a futex
 * for the next step (or spin when `worker_spin`), the coordinator sleeps for the first gradient and
 * spins for the last. */
static _Atomic unsigned *step_seq_word, *completions_word;
#define step_seq (*step_seq_word)
#define completions (*completions_word)
static int worker_spin, descent_sweeps; static float *S, *S2; static volatile float norm_sink;
static void fwait(_Atomic unsigned *w, unsigned v) { syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0); }
/* The coordinator's wait: wakes every 100 ms to see whether a worker process died. */
static void fwait_watching(_Atomic unsigned *w, unsigned v) {
    struct timespec limit = { 0, 100000000 };
    syscall(SYS_futex, w, FUTEX_WAIT, v, &limit, NULL, 0);
    check_workers();
}
static void fwake(_Atomic unsigned *w) { syscall(SYS_futex, w, FUTEX_WAKE, 1 << 30, NULL, NULL, 0); }
static void *coord_worker(void *arg) {
    int r = (int)(long)arg; pin(r); Work w = work_new(B, 12345 + r); unsigned seen = 0;
    for (long s = 0; s < steps; s++) {
        unsigned v;
        if (worker_spin) { int n = 0; while ((v = atomic_load(&step_seq)) == seen) { _mm_pause(); if (++n % 64 == 0) sched_yield(); } }
        else while ((v = atomic_load(&step_seq)) == seen) fwait(&step_seq, seen);
        seen = v;
        gradient(&w, P, G[r], 2 * B);
        atomic_fetch_add(&completions, 1); fwake(&completions);
    }
    return NULL;
}
static double run_coordinated(int spin) {
    worker_spin = spin; atomic_store(&step_seq, 0); atomic_store(&completions, 0);
    double t0 = now();
    Pair pair = start_pair(coord_worker);
    unsigned seen = 0;
    for (long s = 0; s < steps; s++) {
        atomic_fetch_add(&step_seq, 1); fwake(&step_seq);
        unsigned v;
        while ((v = atomic_load(&completions)) == seen) fwait_watching(&completions, seen);
        if (descent_sweeps && v - seen < 2) { for (long i = 0; i < NP; i++) S[i] = 0.0f + 32.0f * G[0][i]; }
        if (v - seen < 2) { int n = 0; while ((v = atomic_load(&completions)) - seen < 2) { _mm_pause(); if (++n % 64 == 0) sched_yield(); if (n % 65536 == 0) check_workers(); } }
        seen = v;
        if (descent_sweeps) {
            for (long i = 0; i < NP; i++) S2[i] = S[i] + 32.0f * G[1][i];
            double lanes[16] = {0}; long whole = NP - NP % 16;
            for (long i = 0; i < whole; i += 16) for (int j = 0; j < 16; j++) { float m = S2[i + j] * (1.0f / 64); S2[i + j] = m; lanes[j] += (double)m * m; }
            for (long i = whole; i < NP; i++) { float m = S2[i] * (1.0f / 64); S2[i] = m; lanes[i - whole] += (double)m * m; }
            double q = 0; for (int j = 0; j < 16; j++) q += lanes[j]; norm_sink += q;
            for (long i = 0; i < NP; i++) P[i] -= lr * S2[i];
        } else for (long i = 0; i < NP; i++) P[i] -= lr * (G[0][i] + G[1][i]);
    }
    join_pair(pair);
    return steps * 2.0 * B / (now() - t0);
}
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
/* probe: a helper thread on CPU 0 applies the update when `turn` is odd; the measuring thread on
 * CPU 1 computes the gradients. */
static _Atomic int turn, stop_helper;
static void sgd(void) { for (long i = 0; i < NP; i++) P[i] -= 1e-6f * G[0][i]; }
static void *helper(void *arg) {
    (void)arg; pin(0);
    while (!atomic_load(&stop_helper)) {
        int t = atomic_load(&turn);
        if (t & 1) { sgd(); atomic_store(&turn, t + 1); } else _mm_pause();
    }
    return NULL;
}
static void probe(int rounds) {
    static const char *names[3] = { "update on this CPU", "update on the other CPU", "other CPU, private copies" };
    float *own_p = aligned(sizeof(float) * NP), *own_g = aligned(sizeof(float) * NP);
    long n = 100000 / B < 200 ? 200 : 100000 / B;
    double *took = malloc(sizeof(double) * n);
    pthread_t h; pthread_create(&h, NULL, helper, NULL);
    pin(1); Work w = work_new(B, 7);
    printf("B=%d, median microseconds of a worker's gradient over %ld steps a round:\n", B, n);
    for (int k = 0; k < 3 * rounds; k++) {
        int variant = k % 3;
        for (long s = 0; s < n; s++) {
            double t0 = now();
            if (variant == 2) {
                memcpy(own_p, P, sizeof(float) * NP);
                gradient(&w, own_p, own_g, B);
                memcpy(G[0], own_g, sizeof(float) * NP);
            } else gradient(&w, P, G[0], B);
            took[s] = (now() - t0) * 1e6;
            if (variant == 0) { sgd(); continue; }
            int t = atomic_load(&turn);
            atomic_store(&turn, t + 1);
            while (atomic_load(&turn) == t + 1) _mm_pause();
        }
        qsort(took, n, sizeof(double), cmp);
        printf("round %d  %-27s %6.1f us (p10 %.1f, p90 %.1f)\n", k / 3, names[variant], took[n / 2], took[n / 10], took[9 * n / 10]);
        fflush(stdout);
    }
    atomic_store(&stop_helper, 1); pthread_join(h, NULL);
}
/* 0, or 1 with a message when what was printed could not all be written (a full disk, a closed pipe). */
static int finish_output(void) {
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    perror("one_host_structure: writing the results");
    return 1;
}
/* The decimal number `text` is, or -1 when it is not one (signs, other characters, past 10^9). */
static int whole_number(const char *text) {
    long value = 0;
    if (!*text) return -1;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9' || value > 100000000) return -1;
        value = value * 10 + (*c - '0');
    }
    return (int)value;
}
int main(int argc, char **argv) {
    int probing = argc > 1 && strcmp(argv[1], "probe") == 0;
    char **args = argv + probing; int count = argc - probing;
    int rounds = count > 2 ? whole_number(args[2]) : probing ? 3 : 7; B = count > 1 ? whole_number(args[1]) : 32;
    processes = count > 3 && strcmp(args[3], "processes") == 0;
    if (B <= 0 || B > 4096 || rounds <= 0 || rounds > 64 || count > 4 || (count > 3 && (probing || !processes))) {
        fprintf(stderr, "usage: one_host_structure [B 1-4096] [ROUNDS 1-64] [processes]\n       one_host_structure probe [B 1-4096] [ROUNDS 1-64]\n");
        return 2;
    }
    pixels = malloc((size_t)IMAGES * IN); labels = malloc(IMAGES);
    for (size_t i = 0; i < (size_t)IMAGES * IN; i++) pixels[i] = (i * 2654435761u) >> 24;
    for (int i = 0; i < IMAGES; i++) labels[i] = i % 10;
    P = shared(sizeof(float) * NP); S = shared(sizeof(float) * NP); S2 = shared(sizeof(float) * NP); G[0] = shared(sizeof(float) * NP); G[1] = shared(sizeof(float) * NP);
    arrived = shared(64); sense = arrived + 1; step_seq_word = shared(64); completions_word = step_seq_word + 1;
    for (long i = 0; i < NP; i++) P[i] = ((i * 2654435761u) >> 16 & 0xffff) / 65536.0f * 0.1f - 0.05f;
    if (probing) { probe(rounds); return finish_output(); }
    steps = 200000 / B; if (steps < 50) steps = 50;
    double ratios[4][64];
    static const char *names[4] = { "split update", "serial update", "coordinator, one sweep", "coordinator, Descent's sweeps" };
    for (int k = 0; k < rounds; k++) {
        double one, split, serial, coordinated, sweeps;
        descent_sweeps = 0;
        if (k % 2) { one = run_single(); split = run_split(0); serial = run_split(1); coordinated = run_coordinated(0); descent_sweeps = 1; sweeps = run_coordinated(0); }
        else { descent_sweeps = 1; sweeps = run_coordinated(0); descent_sweeps = 0; coordinated = run_coordinated(0); serial = run_split(1); split = run_split(0); one = run_single(); }
        double each[4] = { split, serial, coordinated, sweeps };
        printf("B=%d round %d: one core %.0f samples/s", B, k, one);
        for (int m = 0; m < 4; m++) { ratios[m][k] = each[m] / one; printf("  %s %.0f (%.2fx)", names[m], each[m], ratios[m][k]); }
        printf("\n");
        fflush(stdout);
    }
    printf("B=%d global batch %d, %s, medians of %d rounds over one core:", B, 2 * B, processes ? "worker processes" : "worker threads", rounds);
    for (int m = 0; m < 4; m++) { qsort(ratios[m], rounds, sizeof(double), cmp); printf("  %s %.2fx", names[m], ratios[m][rounds / 2]); }
    printf("\n");
    return finish_output();
}
