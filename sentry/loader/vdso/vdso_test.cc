// Moat's vDSO image loaded into the test process ([vvar][vdso], the vvar page a live view of
// a Timekeeper's frame), called through its exported symbols, compared with the host.

#include "sentry/kernel/timekeeper.h"
#include "sentry/loader/vdso/vdso_image.h"
#include "sentry/loader/vdso/vdso_loader_for_test.h"
#include "sentry/loader/vdso/vvar.h"
#include "sentry/loader/vdso/vvar_writer.h"

#include <dlfcn.h>
#include <elf.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

namespace moat::kernel {
}

namespace moat::loader {
namespace {

int64_t Ns(const timespec& ts) { return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec; }

int64_t HostNs(clockid_t clock) {
    timespec ts;
    clock_gettime(clock, &ts);
    return Ns(ts);
}

TEST(VdsoImage, IsARelocationFreeSharedObject) {
    ASSERT_GE(moat_vdso_image_size, sizeof(Elf64_Ehdr));
    ASSERT_LE(moat_vdso_image_size, 8192u);
    auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(moat_vdso_image);
    ASSERT_EQ(std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG), 0);
    EXPECT_EQ(ehdr->e_type, ET_DYN);
    EXPECT_EQ(ehdr->e_machine, EM_X86_64);
    auto* phdr = reinterpret_cast<const Elf64_Phdr*>(moat_vdso_image + ehdr->e_phoff);
    int loads = 0;
    bool dynamic = false;
    for (int i = 0; i < ehdr->e_phnum; ++i) {
        if (phdr[i].p_type == PT_LOAD) {
            ++loads;
            EXPECT_EQ(phdr[i].p_vaddr, 0u);
            EXPECT_EQ(phdr[i].p_offset, 0u);
            EXPECT_EQ(phdr[i].p_flags & PF_W, 0u);
        }
        if (phdr[i].p_type == PT_DYNAMIC) {
            dynamic = true;
            auto* dyn = reinterpret_cast<const Elf64_Dyn*>(moat_vdso_image + phdr[i].p_offset);
            for (; dyn->d_tag != DT_NULL; ++dyn) {
                EXPECT_NE(dyn->d_tag, DT_RELA);
                EXPECT_NE(dyn->d_tag, DT_REL);
                EXPECT_NE(dyn->d_tag, DT_JMPREL);
                EXPECT_NE(dyn->d_tag, DT_NEEDED);
                EXPECT_NE(dyn->d_tag, DT_TEXTREL);
            }
        }
    }
    EXPECT_EQ(loads, 1);
    EXPECT_TRUE(dynamic);
}

TEST(VdsoImage, GlibcFindsTheVersionedSymbols) {
    // glibc's own ld.so parses the image (hash tables, version definitions) and finds each
    // symbol at the version glibc asks for. Never called: there is no vvar page before it.
    int fd = memfd_create("moat-vdso", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, moat_vdso_image, moat_vdso_image_size), ssize_t(moat_vdso_image_size));
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    for (const char* name : {"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu",
                             "__vdso_clock_getres", "clock_gettime", "gettimeofday", "time", "getcpu",
                             "clock_getres"})
        EXPECT_NE(dlvsym(handle, name, "LINUX_2.6"), nullptr) << name;
    EXPECT_EQ(dlvsym(handle, "__vdso_clock_gettime", "LINUX_2.5"), nullptr);
    EXPECT_EQ(dlsym(handle, "vvar_index"), nullptr);
    dlclose(handle);
    close(fd);
}

class VdsoTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto mf = mm::MemoryFile::Create(1ull << 30);
        ASSERT_TRUE(mf.ok());
        m_mf = mf.release_value();
        auto tk = kernel::Timekeeper::Create(*m_mf);
        ASSERT_TRUE(tk.ok());
        m_tk = tk.release_value();
        ASSERT_TRUE(m_vdso.Load(m_mf->fd(), m_tk->vvar_frame()));
    }

    const moat_vvar& vvar() const { return *static_cast<const moat_vvar*>(m_vdso.vvar()); }

    int64_t Vdso(clockid_t clock) {
        timespec ts{};
        EXPECT_EQ(m_vdso.clock_gettime(clock, &ts), 0) << "clock " << clock;
        return Ns(ts);
    }

    int64_t DistanceFromHost(clockid_t clock) {
        int64_t best = INT64_MAX;
        for (int i = 0; i < 50; ++i) {
            int64_t h0 = HostNs(clock);
            int64_t ours = Vdso(clock);
            int64_t h1 = HostNs(clock);
            best = std::min(best, ours < h0 ? h0 - ours : ours > h1 ? ours - h1 : 0);
        }
        return best;
    }

    std::unique_ptr<mm::MemoryFile> m_mf;
    std::unique_ptr<kernel::Timekeeper> m_tk;
    testing::LoadedVdso m_vdso;
};

TEST_F(VdsoTest, ExportsTheVersionedNames) {
    for (const char* name : {"clock_gettime", "__vdso_clock_gettime", "gettimeofday", "__vdso_gettimeofday",
                             "time", "__vdso_time", "getcpu", "__vdso_getcpu", "clock_getres",
                             "__vdso_clock_getres"})
        EXPECT_NE(m_vdso.Lookup(name), nullptr) << name;
    EXPECT_EQ(m_vdso.Lookup("vvar_index"), nullptr);
}

TEST_F(VdsoTest, ClockGettimeMatchesHost) {
    if (vvar().use_syscall)
        GTEST_SKIP() << "TSC unusable here: the vDSO makes the syscall";
    EXPECT_LT(DistanceFromHost(CLOCK_MONOTONIC), 5'000);
    EXPECT_LT(DistanceFromHost(CLOCK_BOOTTIME), 5'000);
    EXPECT_LT(DistanceFromHost(CLOCK_MONOTONIC_RAW), 5'000);
    EXPECT_LT(DistanceFromHost(CLOCK_REALTIME), 2'000'000);
    EXPECT_GE(Vdso(CLOCK_MONOTONIC_COARSE) + 100'000, HostNs(CLOCK_MONOTONIC_COARSE));
}

TEST_F(VdsoTest, SameAsTimekeeperAndNeverBackwards) {
    // Interleaved vDSO and Timekeeper::Now reads (what an app sees mixing the vDSO with a
    // trapped clock_gettime) never go backwards, also across recalibrations.
    for (clockid_t clock : {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE}) {
        int64_t last = 0;
        for (int round = 0; round < 3; ++round) {
            for (int i = 0; i < 20'000; ++i) {
                int64_t a = Vdso(clock);
                int64_t b = Ns(*m_tk->Now(clock));
                ASSERT_GE(a, last) << clock;
                ASSERT_GE(b, a) << clock;
                last = b;
            }
            m_tk->RecalibrateNow();
        }
    }
}

TEST_F(VdsoTest, InvalidClockTakesTheSyscall) {
    timespec ts{};
    EXPECT_EQ(m_vdso.clock_gettime(-1, &ts), -EINVAL);  // raw syscall return, as glibc expects
    EXPECT_EQ(m_vdso.clock_gettime(12345, &ts), -EINVAL);
    // A clock the page does not serve goes to the (here: host) kernel.
    EXPECT_EQ(m_vdso.clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
    EXPECT_EQ(m_vdso.clock_gettime(CLOCK_TAI, &ts), 0);
    EXPECT_LT(std::abs(Ns(ts) - HostNs(CLOCK_TAI)), 10'000'000);
}

TEST_F(VdsoTest, GettimeofdayAndTime) {
    timeval tv{};
    struct {
        int minuteswest = 77, dsttime = 77;
    } tz;
    ASSERT_EQ(m_vdso.gettimeofday(&tv, &tz), 0);
    EXPECT_EQ(tz.minuteswest, vvar().use_syscall ? tz.minuteswest : 0);
    timeval host;
    gettimeofday(&host, nullptr);
    int64_t us = int64_t(tv.tv_sec) * 1'000'000 + tv.tv_usec;
    int64_t host_us = int64_t(host.tv_sec) * 1'000'000 + host.tv_usec;
    EXPECT_LT(std::abs(us - host_us), 2'000);
    EXPECT_GE(tv.tv_usec, 0);
    EXPECT_LT(tv.tv_usec, 1'000'000);
    EXPECT_EQ(m_vdso.gettimeofday(&tv, nullptr), 0);
    EXPECT_EQ(m_vdso.gettimeofday(nullptr, nullptr), 0);

    time_t t = 0;
    time_t r = m_vdso.time(&t);
    EXPECT_EQ(r, t);
    EXPECT_LE(std::abs(r - ::time(nullptr)), 1);
    EXPECT_LE(std::abs(m_vdso.time(nullptr) - ::time(nullptr)), 1);
}

TEST_F(VdsoTest, Getcpu) {
    unsigned cpu = 99999, node = 99999;
    ASSERT_EQ(m_vdso.getcpu(&cpu, &node, nullptr), 0);
    EXPECT_LT(cpu, unsigned(std::thread::hardware_concurrency()));
    EXPECT_EQ(node, 0u);
    EXPECT_EQ(m_vdso.getcpu(nullptr, nullptr, nullptr), 0);
    if (vvar().getcpu_mode != MOAT_GETCPU_ZERO) {
        // With TSC_AUX the vDSO reports the CPU the host put us on.
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(0, &one);
        cpu_set_t old;
        ASSERT_EQ(sched_getaffinity(0, sizeof(old), &old), 0);
        ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
        ASSERT_EQ(m_vdso.getcpu(&cpu, nullptr, nullptr), 0);
        EXPECT_EQ(cpu, 0u);
        sched_setaffinity(0, sizeof(old), &old);
    }
}

TEST_F(VdsoTest, ClockGetres) {
    timespec res{};
    for (clockid_t clock : {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW, CLOCK_TAI}) {
        ASSERT_EQ(m_vdso.clock_getres(clock, &res), 0);
        EXPECT_EQ(Ns(res), Ns(*m_tk->Resolution(clock))) << clock;
    }
    ASSERT_EQ(m_vdso.clock_getres(CLOCK_MONOTONIC_COARSE, &res), 0);
    EXPECT_EQ(Ns(res), Ns(*m_tk->Resolution(CLOCK_MONOTONIC_COARSE)));
    EXPECT_EQ(m_vdso.clock_getres(CLOCK_MONOTONIC, nullptr), 0);
    EXPECT_EQ(m_vdso.clock_getres(-1, &res), -EINVAL);
}

// ---- The update protocol, driven directly with synthetic host readings ----

struct SyntheticHost {
    // A host whose clocks run at `rate` ns per tick from `origin_ns` at `origin_tsc`.
    uint64_t origin_tsc;
    int64_t origin_ns[MOAT_VVAR_NCLOCKS];
    double rate;
    VvarUpdate At(uint64_t tsc, int64_t offset_ns = 0, int64_t interval_ns = 10'000'000'000) const {
        VvarUpdate u;
        u.interval_ns = interval_ns;
        for (int i = 0; i < MOAT_VVAR_NCLOCKS; ++i)
            u.clocks[i] = HostClockReading{tsc, origin_ns[i] + int64_t(double(tsc - origin_tsc) * rate) + offset_ns, rate};
        return u;
    }
};

struct alignas(4096) Page {
    uint8_t bytes[4096] = {};
};

TEST(VdsoVvarWriter, FirstPublishStartsAtTheHostValue) {
    Page page;
    auto* vv = reinterpret_cast<moat_vvar*>(&page);
    VvarWriter writer(vv);
    int64_t ns;
    EXPECT_EQ(moat_vvar_clock_ns(vv, MOAT_VVAR_MONOTONIC, &ns), -1);  // nothing published yet
    uint64_t tsc = moat_rdtsc_ordered();
    SyntheticHost host{tsc, {1'700'000'000'000'000'000, 5'000'000'000, 6'000'000'000, 4'000'000'000}, 0.5};
    writer.Publish(host.At(tsc));
    ASSERT_EQ(moat_vvar_clock_ns(vv, MOAT_VVAR_MONOTONIC, &ns), 0);
    int64_t expected = host.At(moat_rdtsc_ordered()).clocks[MOAT_VVAR_MONOTONIC].ns;
    EXPECT_LE(ns, expected);
    EXPECT_GT(ns, expected - 1'000'000);
    EXPECT_EQ(vv->seq % 2, 0u);
}

TEST(VdsoVvarWriter, ContinuousSlewedAndSteppedOnlyForwards) {
    Page page;
    auto* vv = reinterpret_cast<moat_vvar*>(&page);
    VvarWriter writer(vv);
    constexpr int kMono = MOAT_VVAR_MONOTONIC;
    uint64_t t0 = moat_rdtsc_ordered();
    SyntheticHost host{t0, {1'000'000'000'000, 1'000'000'000'000, 1'000'000'000'000, 1'000'000'000'000}, 0.5};
    writer.Publish(host.At(t0));
    auto eval = [&](uint64_t tsc) {
        moat_vvar_clock cur = vv->clocks[kMono];
        return moat_vvar_clock_eval(&cur, tsc);
    };
    auto rate = [&] { return std::ldexp(double(vv->clocks[kMono].mult), -32); };
    EXPECT_NEAR(rate(), 0.5, 1e-9);

    // Host 1 ms ahead: slewed (faster by at most kMaxSlew), continuous at the update.
    uint64_t t = moat_rdtsc_ordered();
    int64_t before = eval(t);
    writer.Publish(host.At(t, 1'000'000));
    EXPECT_FALSE(writer.last_stepped(kMono));
    EXPECT_NEAR(double(writer.last_error_ns(kMono)), 1'000'000, 10);
    EXPECT_GE(vv->clocks[kMono].base_tsc, t);
    EXPECT_GE(vv->clocks[kMono].base_ns, before);
    EXPECT_GT(rate(), 0.5);
    EXPECT_LE(rate(), 0.5 * (1 + VvarWriter::kMaxSlew) + 1e-9);

    // Host 1 s behind (clock set back): no backwards step, the slowest allowed rate.
    t = moat_rdtsc_ordered();
    before = eval(t);
    writer.Publish(host.At(t, -1'000'000'000));
    EXPECT_FALSE(writer.last_stepped(kMono));
    EXPECT_GE(vv->clocks[kMono].base_ns, before);
    EXPECT_NEAR(rate(), 0.5 * (1 - VvarWriter::kMaxSlew), 1e-9);

    // Host 5 s ahead (resume from suspend, NTP step): stepped forwards, at the host's rate.
    t = moat_rdtsc_ordered();
    before = eval(t);
    writer.Publish(host.At(t, 5'000'000'000));
    EXPECT_TRUE(writer.last_stepped(kMono));
    EXPECT_GT(vv->clocks[kMono].base_ns, before + 4'000'000'000);
    EXPECT_NEAR(rate(), 0.5, 1e-9);
    EXPECT_EQ(vv->seq % 2, 0u);
}

TEST(VdsoVvarWriter, ReadersNeverSeeTimeGoBackwardsUnderUpdates) {
    Page page;
    auto* vv = reinterpret_cast<moat_vvar*>(&page);
    VvarWriter writer(vv);
    uint64_t t0 = moat_rdtsc_ordered();
    SyntheticHost host{t0, {0, 1'000'000'000, 1'000'000'000, 1'000'000'000}, 0.4771};
    writer.Publish(host.At(t0));
    std::atomic<bool> stop{false};
    std::atomic<int> backwards{0};
    std::atomic<long> reads{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t) {
        readers.emplace_back([&] {
            int64_t last = INT64_MIN;
            long n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                int64_t ns;
                if (moat_vvar_clock_ns(vv, MOAT_VVAR_MONOTONIC, &ns) != 0)
                    continue;
                if (ns < last)
                    backwards.fetch_add(1);
                last = ns;
                ++n;
            }
            reads += n;
        });
    }
    // Rates jumping around by up to 0.5 %, offsets up to ±50 ms (some steps), very short
    // intervals so that every update changes the slope a lot.
    std::mt19937_64 rng(42);
    for (int i = 0; i < 5'000; ++i) {
        SyntheticHost h = host;
        h.rate = host.rate * (1 + std::uniform_real_distribution<double>(-0.005, 0.005)(rng));
        int64_t offset = std::uniform_int_distribution<int64_t>(-50'000'000, 50'000'000)(rng);
        writer.Publish(h.At(moat_rdtsc_ordered(), offset, 1'000'000));
        if (i % 16 == 0)
            std::this_thread::yield();
    }
    stop = true;
    for (auto& t : readers)
        t.join();
    EXPECT_EQ(backwards.load(), 0);
    EXPECT_GT(reads.load(), 1000);
}

}  // namespace
}  // namespace moat::loader
