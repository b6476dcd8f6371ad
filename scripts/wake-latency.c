/* Round-trip latency of waking a thread on the other CPU through a futex, against spinning.
 *
 * build: cc -O2 -pthread scripts/wake-latency.c -o wake-latency
 * usage: ./wake-latency SPIN GAP_US   (SPIN 0: both sides sleep on the futex; 1: both spin;
 *        GAP_US: microseconds between round trips, so the waiter's CPU can go idle)
 * Threads are pinned to CPUs 0 and 1. On a virtual machine an idle virtual CPU halts and must
 * be scheduled again to wake: that is what a futex wakeup costs there (README, "This version"). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>
#include <stdlib.h>
static _Atomic int a = 0, b = 0;
static int spin;
static int N = 20000;
static void fwait(_Atomic int *p, int v){ if(spin){ while(atomic_load(p)==v); return;} while(atomic_load(p)==v) syscall(SYS_futex,p,FUTEX_WAIT,v,0,0,0);}
static void fwake(_Atomic int *p){ atomic_fetch_add(p,1); if(!spin) syscall(SYS_futex,p,FUTEX_WAKE,1,0,0,0);}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void* peer(void*x){ pin(1); for(int i=0;i<N;i++){ fwait(&a,i); fwake(&b);} return 0;}
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int c,char**v){ spin=atoi(v[1]); int gap=atoi(v[2]); pin(0); pthread_t t; pthread_create(&t,0,peer,0);
 double tot=0; for(int i=0;i<N;i++){ if(gap) usleep(gap); double s=now(); fwake(&a); fwait(&b,i); tot+=now()-s;}
 pthread_join(t,0); printf("spin=%d gap=%dus round trip %.2f us\n",spin,gap,tot/N*1e6); }
