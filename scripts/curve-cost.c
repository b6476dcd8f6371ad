// CURVE's CPU cost, for README's "CURVE's cost": (1) libsodium's crypto_box_easy_afternm
// (XSalsa20-Poly1305, what libzmq's CURVE runs on every message) on 400 KB, CPU time; (2) 400 KB
// messages over a DEALER -> ROUTER pair on TCP loopback (port 47311) with and without CURVE, CPU
// time per MB of both ends in this process; (3) for comparison, the AEADs a faster channel could
// use, through OpenSSL's EVP in place (AES-256-GCM, ChaCha20-Poly1305) on the same 400 KB.
//   (needs Debian's libsodium-dev and libssl-dev beside libzmq3-dev)
//   cc -O2 -g scripts/curve-cost.c -lzmq -lsodium -lcrypto -o /tmp/curve-cost && /tmp/curve-cost
//   ONLY=1 valgrind --tool=callgrind /tmp/curve-cost    # one CURVE pair, 200 messages (ONLY=0: plaintext)
//   MMAP_THRESHOLD=262144 /tmp/curve-cost               # with glibc's mmap threshold fixed
#include <sodium.h>
#include <zmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <malloc.h>
#include <openssl/evp.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double cpu(void) { struct rusage u; getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6; }

static void pair(int curve, int io, size_t size, int count) {
  void *ctx = zmq_ctx_new();
  zmq_ctx_set(ctx, ZMQ_IO_THREADS, io);
  void *router = zmq_socket(ctx, ZMQ_ROUTER), *dealer = zmq_socket(ctx, ZMQ_DEALER);
  char spub[41], ssec[41], cpub[41], csec[41];
  if (curve) {
    zmq_curve_keypair(spub, ssec); zmq_curve_keypair(cpub, csec);
    int one = 1; zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, ssec, 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, spub, 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, cpub, 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, csec, 40);
  }
  zmq_bind(router, "tcp://127.0.0.1:47311");
  zmq_connect(dealer, "tcp://127.0.0.1:47311");
  char *buf = malloc(size); memset(buf, 7, size);
  zmq_send(dealer, "x", 1, 0);
  zmq_msg_t m; zmq_msg_init(&m); zmq_msg_recv(&m, router, 0); zmq_msg_recv(&m, router, 0);
  double t0 = now(), c0 = cpu();
  for (int i = 0; i < count; i++) {
    zmq_msg_t out; zmq_msg_init_size(&out, size); memcpy(zmq_msg_data(&out), buf, size);  // like building a frame
    zmq_msg_send(&out, dealer, 0);
    zmq_msg_recv(&m, router, 0); zmq_msg_recv(&m, router, 0);
  }
  double t = now() - t0, c = cpu() - c0, mb = (double)size * count / 1e6;
  printf("zmq %-9s io=%d: %.0f MB/s wall, %.3f CPU-ms per MB (both ends, incl. the copy into the frame)\n",
         curve ? "CURVE" : "plaintext", io, mb / t, c * 1000 / mb);
  zmq_msg_close(&m); zmq_close(router); zmq_close(dealer); zmq_ctx_term(ctx); free(buf);
}

// One AEAD seal of `size` bytes in place through EVP, `reps` times: CPU ms per 400 KB.
static double evp_seal(const EVP_CIPHER *cipher, unsigned char *p, size_t size, int reps) {
  unsigned char key[32], iv[12], tag[16]; randombytes_buf(key, sizeof key); randombytes_buf(iv, sizeof iv);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  double t0 = cpu();
  for (int i = 0; i < reps; i++) {
    int len = 0;
    iv[0] = (unsigned char)i;  // a fresh nonce a message, as a channel would use
    if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, iv) != 1 || EVP_EncryptUpdate(ctx, p, &len, p, (int)size) != 1
        || EVP_EncryptFinal_ex(ctx, p + len, &len) != 1 || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1) exit(3);
  }
  double ms = (cpu() - t0) * 1000 / reps;
  EVP_CIPHER_CTX_free(ctx);
  return ms;
}

int main(void) {
  if (sodium_init() < 0) return 1;
  size_t size = 407080;  // 101,770 float32: the MLP's parameters or one gradient
  unsigned char pk[32], sk[32], k[32], n[24];
  crypto_box_keypair(pk, sk); if (crypto_box_beforenm(k, pk, sk) != 0) return 1; randombytes_buf(n, sizeof n);
  unsigned char *p = malloc(size), *c = malloc(size + 16); memset(p, 3, size);
  int reps = getenv("ONLY") ? 0 : 1000;
  double t0 = cpu();
  for (int i = 0; i < reps; i++) crypto_box_easy_afternm(c, p, size, n, k);
  double e = cpu() - t0;
  t0 = cpu();
  for (int i = 0; i < reps; i++) if (crypto_box_open_easy_afternm(p, c, size + 16, n, k) != 0) return 2;
  double d = cpu() - t0;
  t0 = cpu();
  for (int i = 0; i < reps * 10; i++) { memcpy(c, p, size); __asm__ volatile("" ::: "memory"); }
  double m = (cpu() - t0) / 10;
  double mb = (double)size * reps / 1e6;
  if (reps > 0) printf("libsodium crypto_box_easy_afternm (CPU time): %.0f MB/s (%.3f ms per 400 KB); open: %.0f MB/s (%.3f ms); memcpy: %.0f MB/s (%.3f ms)\n",
         mb / e, e * 1000 / reps, mb / d, d * 1000 / reps, mb / m, m * 1000 / reps);
  if (reps > 0) {
    double gcm = evp_seal(EVP_aes_256_gcm(), p, size, reps), chacha = evp_seal(EVP_chacha20_poly1305(), p, size, reps);
    printf("OpenSSL EVP in place (CPU time): AES-256-GCM %.0f MB/s (%.3f ms per 400 KB); ChaCha20-Poly1305 %.0f MB/s (%.3f ms)\n",
           size / gcm / 1e3, gcm, size / chacha / 1e3, chacha);
  }
  long threshold = getenv("MMAP_THRESHOLD") ? atol(getenv("MMAP_THRESHOLD")) : 0;
  if (threshold) { mallopt(M_MMAP_THRESHOLD, (int)threshold); printf("M_MMAP_THRESHOLD=%ld\n", threshold); }
  if (getenv("ONLY")) { pair(atoi(getenv("ONLY")), 1, size, 200); return 0; }
  for (int io = 1; io <= 2; io++) { pair(0, io, size, 1000); pair(1, io, size, 1000); }
  free(p); free(c);
  return 0;
}
