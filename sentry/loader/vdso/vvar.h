/*
 * vvar.h: the data page the sentry's Timekeeper writes and Moat's vDSO reads.
 *
 * Shared by C++ (the sentry) and freestanding C (the vDSO image), so: plain C, fixed-width
 * fields, no pointers. The page is mapped read-only into every app process immediately
 * before the vDSO's text ([vvar][vdso...]); the sentry writes it through its own mapping of
 * the memory file. See sentry/loader/vdso/README.md for the math and the update protocol.
 *
 * moat_vvar_clock_ns() below is THE clock computation: the vDSO calls it, and so does
 * Timekeeper::Now(), so a vDSO read and a trapped clock_gettime(2) give exactly the same
 * function of the TSC and can never go backwards relative to each other.
 */
#ifndef MOAT_SENTRY_LOADER_VDSO_VVAR_H
#define MOAT_SENTRY_LOADER_VDSO_VVAR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Indices into moat_vvar.clocks (not Linux clock ids). */
#define MOAT_VVAR_REALTIME 0
#define MOAT_VVAR_MONOTONIC 1
#define MOAT_VVAR_BOOTTIME 2
#define MOAT_VVAR_MONOTONIC_RAW 3
#define MOAT_VVAR_NCLOCKS 4

#define MOAT_VVAR_MAGIC 0x5241565654414f4dULL /* "MOATVVAR" */
#define MOAT_VVAR_SHIFT 32

/* How the vDSO's getcpu() finds the CPU number. */
#define MOAT_GETCPU_ZERO 0   /* always cpu 0, node 0 */
#define MOAT_GETCPU_RDPID 1  /* TSC_AUX via rdpid: (node << 12) | cpu, as Linux sets it */
#define MOAT_GETCPU_RDTSCP 2 /* TSC_AUX via rdtscp */

/*
 * One clock: ns = base_ns + (((tsc - base_tsc) * mult) >> shift), the product taken in
 * 128 bits, and a TSC before base_tsc (cross-CPU skew) counted as base_tsc.
 */
struct moat_vvar_clock {
    uint64_t base_tsc;
    int64_t base_ns; /* ns since the clock's epoch at base_tsc */
    uint64_t mult;   /* ns per TSC tick, times 2^shift */
    uint32_t shift;
    uint32_t reserved;
};

struct moat_vvar {
    /* Seqlock: odd while the Timekeeper rewrites the fields below. */
    volatile uint32_t seq;
    /* Nonzero: the TSC is unusable (no invariant TSC, or calibration failed); every clock
     * goes through the real syscall, which the sentry traps and serves. */
    volatile uint32_t use_syscall;
    uint32_t getcpu_mode;   /* MOAT_GETCPU_* */
    uint32_t reserved0;
    uint64_t magic;         /* MOAT_VVAR_MAGIC once initialised */
    int64_t coarse_res_ns;  /* clock_getres() of the *_COARSE clocks (the host's tick) */
    uint64_t tsc_hz;        /* current TSC frequency estimate (informational) */
    uint64_t updates;       /* number of completed updates (informational) */
    struct moat_vvar_clock clocks[MOAT_VVAR_NCLOCKS];
};

/* lfence before: not executed ahead of earlier loads (the seq read); lfence after: later
 * loads (the seq re-check) are not executed before the TSC is read. */
static inline __attribute__((always_inline)) uint64_t moat_rdtsc_ordered(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

static inline __attribute__((always_inline)) int64_t moat_vvar_clock_eval(const struct moat_vvar_clock* c,
                                                                          uint64_t tsc) {
    uint64_t delta = tsc - c->base_tsc;
    if ((int64_t)delta < 0)
        delta = 0;
    return c->base_ns + (int64_t)(uint64_t)(((unsigned __int128)delta * c->mult) >> c->shift);
}

/*
 * Reads clock `index` (MOAT_VVAR_*) in ns. Returns 0, or -1 when the caller must ask the
 * kernel (use_syscall set). Lock-free reader of the seqlock: retries while an update is in
 * progress or if one completed while reading.
 */
static inline __attribute__((always_inline)) int moat_vvar_clock_ns(const struct moat_vvar* vv, unsigned index,
                                                                    int64_t* out) {
    const volatile struct moat_vvar* v = vv;
    for (;;) {
        uint32_t seq = v->seq;
        __asm__ __volatile__("" ::: "memory");
        if (seq & 1) {
            __asm__ __volatile__("pause");
            continue;
        }
        if (v->use_syscall)
            return -1;
        struct moat_vvar_clock c;
        c.base_tsc = v->clocks[index].base_tsc;
        c.base_ns = v->clocks[index].base_ns;
        c.mult = v->clocks[index].mult;
        c.shift = v->clocks[index].shift;
        uint64_t tsc = moat_rdtsc_ordered();
        if (v->seq != seq)
            continue;
        *out = moat_vvar_clock_eval(&c, tsc);
        return 0;
    }
}

#ifdef __cplusplus
}  /* extern "C" */
static_assert(sizeof(struct moat_vvar) <= 4096, "the vvar struct must fit one page");
#endif

#endif /* MOAT_SENTRY_LOADER_VDSO_VVAR_H */
