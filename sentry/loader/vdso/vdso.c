/*
 * Moat's vDSO: clock_gettime, gettimeofday, time, getcpu and clock_getres computed in the
 * app from the vvar page (vvar.h) the sentry keeps current, without a trap. Whatever the
 * page cannot answer goes to the real `syscall` instruction, which Moat traps and serves.
 *
 * Freestanding: no libc, no globals, no relocations. The vvar page sits one page before
 * this image's first byte; the linker script defines the hidden symbol moat_vvar_page
 * there, and every reference to it is RIP-relative.
 */
#include "vvar.h"

typedef long time_t_;
struct timespec_ {
    time_t_ tv_sec;
    long tv_nsec;
};
struct timeval_ {
    time_t_ tv_sec;
    long tv_usec;
};
struct timezone_ {
    int tz_minuteswest;
    int tz_dsttime;
};

/* Linux clock ids. */
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_TAI 11

#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_clock_getres 229
#define NR_getcpu 309

#define NSEC_PER_SEC 1000000000LL

/* Built with -fvisibility=hidden; only these are exported (and versioned by vdso.map). */
#define VDSO_EXPORT __attribute__((visibility("default")))

extern const struct moat_vvar moat_vvar_page __attribute__((visibility("hidden")));

static inline long sys2(long nr, long a, long b) {
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

static inline long sys3(long nr, long a, long b, long c) {
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

/* Linux clock id → vvar clock index, or -1 (not served from the page). The COARSE clocks
 * read the same TSC-based clock as their precise twin: always at least as fresh as a tick. */
static inline int vvar_index(int clock) {
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
        return MOAT_VVAR_REALTIME;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_COARSE:
        return MOAT_VVAR_MONOTONIC;
    case CLOCK_BOOTTIME:
        return MOAT_VVAR_BOOTTIME;
    case CLOCK_MONOTONIC_RAW:
        return MOAT_VVAR_MONOTONIC_RAW;
    default:
        return -1;
    }
}

static inline void ns_to_timespec(int64_t ns, struct timespec_* ts) {
    /* All served clocks are past their epoch, so unsigned division is exact and cheap. */
    uint64_t u = (uint64_t)ns;
    ts->tv_sec = (time_t_)(u / NSEC_PER_SEC);
    ts->tv_nsec = (long)(u % NSEC_PER_SEC);
}

VDSO_EXPORT int __vdso_clock_gettime(int clock, struct timespec_* ts) {
    int index = vvar_index(clock);
    int64_t ns;
    if (index < 0 || moat_vvar_clock_ns(&moat_vvar_page, (unsigned)index, &ns) != 0)
        return (int)sys2(NR_clock_gettime, clock, (long)ts);
    ns_to_timespec(ns, ts);
    return 0;
}
VDSO_EXPORT int clock_gettime(int, struct timespec_*) __attribute__((weak, alias("__vdso_clock_gettime")));

VDSO_EXPORT int __vdso_gettimeofday(struct timeval_* tv, struct timezone_* tz) {
    int64_t ns;
    if (moat_vvar_clock_ns(&moat_vvar_page, MOAT_VVAR_REALTIME, &ns) != 0)
        return (int)sys2(NR_gettimeofday, (long)tv, (long)tz);
    if (tv) {
        uint64_t u = (uint64_t)ns;
        tv->tv_sec = (time_t_)(u / NSEC_PER_SEC);
        tv->tv_usec = (long)(u % NSEC_PER_SEC / 1000);
    }
    if (tz) {
        /* The sandbox's timezone is UTC, as Linux's sys_tz is unless someone sets it. */
        tz->tz_minuteswest = 0;
        tz->tz_dsttime = 0;
    }
    return 0;
}
VDSO_EXPORT int gettimeofday(struct timeval_*, struct timezone_*) __attribute__((weak, alias("__vdso_gettimeofday")));

VDSO_EXPORT time_t_ __vdso_time(time_t_* t) {
    int64_t ns;
    if (moat_vvar_clock_ns(&moat_vvar_page, MOAT_VVAR_REALTIME, &ns) != 0)
        return sys2(NR_time, (long)t, 0);
    time_t_ sec = (time_t_)((uint64_t)ns / NSEC_PER_SEC);
    if (t)
        *t = sec;
    return sec;
}
VDSO_EXPORT time_t_ time(time_t_*) __attribute__((weak, alias("__vdso_time")));

VDSO_EXPORT long __vdso_getcpu(unsigned* cpu, unsigned* node, void* unused) {
    const volatile struct moat_vvar* v = &moat_vvar_page;
    uint32_t mode = v->getcpu_mode;
    uint32_t aux;
    if (mode == MOAT_GETCPU_ZERO) {
        aux = 0;
    } else if (mode == MOAT_GETCPU_RDPID) {
        uint64_t r;
        __asm__ __volatile__("rdpid %0" : "=r"(r));
        aux = (uint32_t)r;
    } else if (mode == MOAT_GETCPU_RDTSCP) {
        uint32_t lo, hi;
        __asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
        (void)lo;
        (void)hi;
    } else {
        return sys3(NR_getcpu, (long)cpu, (long)node, (long)unused);
    }
    if (cpu)
        *cpu = aux & 0xfff;
    if (node)
        *node = aux >> 12;
    return 0;
}
VDSO_EXPORT long getcpu(unsigned*, unsigned*, void*) __attribute__((weak, alias("__vdso_getcpu")));

VDSO_EXPORT int __vdso_clock_getres(int clock, struct timespec_* res) {
    const volatile struct moat_vvar* v = &moat_vvar_page;
    long ns;
    switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_MONOTONIC:
    case CLOCK_BOOTTIME:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_TAI:
        ns = 1;
        break;
    case CLOCK_REALTIME_COARSE:
    case CLOCK_MONOTONIC_COARSE:
        ns = (long)v->coarse_res_ns;
        break;
    default:
        ns = 0;
        break;
    }
    if (ns <= 0 || v->use_syscall)
        return (int)sys2(NR_clock_getres, clock, (long)res);
    if (res) {
        res->tv_sec = 0;
        res->tv_nsec = ns;
    }
    return 0;
}
VDSO_EXPORT int clock_getres(int, struct timespec_*) __attribute__((weak, alias("__vdso_clock_getres")));
