/* Does oneDNN's inner-product primitive, with the bias and ReLU fused in, beat dnnl_sgemm followed
 * by Descent's bias+ReLU pass, for the 784->128 layer of the MLP? One thread, CPU time.
 * The weights stay in Descent's layout (fanIn x fanOut row-major, oneDNN's "io" tag), since they
 * change every step; "any" lets the primitive pick its own layout and adds the reorder each step needs.
 * build: cc -O2 -march=native inner_product_vs_sgemm.c -o ip -ldnnl
 * usage: OMP_NUM_THREADS=1 ./ip [BATCH ...]   (default 32 128 512) */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(call) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { fprintf(stderr, "%s: %d\n", #call, s_); exit(1); } } while (0)
enum { IN = 784, OUT = 128 };

static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static float *filled(size_t n, float v) { float *p = aligned_alloc(64, (n * sizeof *p + 63) / 64 * 64); for (size_t i = 0; i < n; i++) p[i] = v; return p; }

static void bias_relu(float *m, const float *b, int rows) {
    for (int r = 0; r < rows; r++) for (int c = 0; c < OUT; c++) { float v = m[r * OUT + c] + b[c]; m[r * OUT + c] = v > 0 ? v : 0; }
}

typedef struct { dnnl_primitive_t ip, reorder; dnnl_memory_t src, w_user, w_prim, bias, dst; } IP;

static IP make_ip(dnnl_engine_t engine, int B, int any, float *x, float *w, float *b, float *y) {
    IP p = {0};
    dnnl_memory_desc_t src, w_user, w_any, bias, dst;
    dnnl_dims_t sd = {B, IN}, wd = {OUT, IN}, bd = {OUT}, dd = {B, OUT};
    CHECK(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_f32, dnnl_nc));
    CHECK(dnnl_memory_desc_init_by_tag(&w_user, 2, wd, dnnl_f32, dnnl_io));
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, 2, wd, dnnl_f32, any ? dnnl_format_tag_any : dnnl_io));
    CHECK(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_nc));
    dnnl_inner_product_desc_t desc;
    CHECK(dnnl_inner_product_forward_desc_init(&desc, dnnl_forward_training, &src, &w_any, &bias, &dst));
    dnnl_post_ops_t ops; dnnl_primitive_attr_t attr;
    CHECK(dnnl_post_ops_create(&ops));
    CHECK(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0, 0));
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_primitive_attr_set_post_ops(attr, ops));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
    const char *impl; CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    printf("  inner product (%s weights): implementation %s\n", any ? "any" : "io", impl);
    const dnnl_memory_desc_t *w_chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    CHECK(dnnl_primitive_create(&p.ip, pd));
    CHECK(dnnl_memory_create(&p.src, &src, engine, x));
    CHECK(dnnl_memory_create(&p.w_user, &w_user, engine, w));
    CHECK(dnnl_memory_create(&p.bias, &bias, engine, b));
    CHECK(dnnl_memory_create(&p.dst, &dst, engine, y));
    if (!dnnl_memory_desc_equal(w_chosen, &w_user)) {
        CHECK(dnnl_memory_create(&p.w_prim, w_chosen, engine, DNNL_MEMORY_ALLOCATE));
        dnnl_primitive_desc_t rpd;
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, &w_user, engine, w_chosen, engine, NULL));
        CHECK(dnnl_primitive_create(&p.reorder, rpd));
    } else {
        p.w_prim = p.w_user;
    }
    return p;
}

static void run_ip(IP *p, dnnl_stream_t stream) {
    if (p->reorder) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->w_user}, {DNNL_ARG_TO, p->w_prim}};
        CHECK(dnnl_primitive_execute(p->reorder, stream, 2, r));
    }
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_WEIGHTS, p->w_prim}, {DNNL_ARG_BIAS, p->bias}, {DNNL_ARG_DST, p->dst}};
    CHECK(dnnl_primitive_execute(p->ip, stream, 4, a));
}

int main(int argc, char **argv) {
    int defaults[] = {32, 128, 512}, count = argc > 1 ? argc - 1 : 3;
    dnnl_engine_t engine; dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    for (int k = 0; k < count; k++) {
        int B = argc > 1 ? atoi(argv[k + 1]) : defaults[k];
        float *x = filled((size_t)B * IN, 0.5f), *w = filled(IN * OUT, 0.01f), *b = filled(OUT, -0.1f);
        float *y1 = filled((size_t)B * OUT, 0), *y2 = filled((size_t)B * OUT, 0);
        printf("batch %d\n", B);
        IP io = make_ip(engine, B, 0, x, w, b, y2), any = make_ip(engine, B, 1, x, w, b, y2);
        long reps = 2000000 / B;
        double best[3] = {1e9, 1e9, 1e9};
        for (int round = 0; round < 5; round++) {
            double t = cpu();
            for (long r = 0; r < reps; r++) {
                CHECK(dnnl_sgemm('N', 'N', B, OUT, IN, 1, x, IN, w, OUT, 0, y1, OUT));
                bias_relu(y1, b, B);
            }
            double a = (cpu() - t) / reps; if (a < best[0]) best[0] = a;
            t = cpu();
            for (long r = 0; r < reps; r++) run_ip(&io, stream);
            a = (cpu() - t) / reps; if (a < best[1]) best[1] = a;
            t = cpu();
            for (long r = 0; r < reps; r++) run_ip(&any, stream);
            a = (cpu() - t) / reps; if (a < best[2]) best[2] = a;
        }
        float diff = 0;
        for (int i = 0; i < B * OUT; i++) { float d = y1[i] - y2[i]; if (d < 0) d = -d; if (d > diff) diff = d; }
        printf("  sgemm + bias/ReLU pass: %.2f us; inner product, io weights: %.2f us; any weights + reorder: %.2f us (max difference %g)\n",
               best[0] * 1e6, best[1] * 1e6, best[2] * 1e6, diff);
    }
    return 0;
}
