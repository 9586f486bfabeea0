// Threads: clone(CLONE_THREAD…) through pthreads; the futex join on clear_child_tid.

#include "tests/conformance/test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <vector>

namespace moat::conformance {
namespace {

struct Ids {
    long pid = 0, tid = 0, ppid = 0;
};

void* RecordIds(void* arg) {
    auto* ids = static_cast<Ids*>(arg);
    ids->pid = syscall(SYS_getpid);
    ids->tid = syscall(SYS_gettid);
    ids->ppid = syscall(SYS_getppid);
    return reinterpret_cast<void*>(0x1234);
}

TEST(CloneThreadTest, SamePidOtherTid) {
    Ids ids;
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, nullptr, RecordIds, &ids), 0);
    void* ret = nullptr;
    ASSERT_EQ(pthread_join(th, &ret), 0);
    EXPECT_EQ(ret, reinterpret_cast<void*>(0x1234));
    EXPECT_EQ(ids.pid, getpid());
    EXPECT_EQ(ids.ppid, getppid());
    EXPECT_NE(ids.tid, syscall(SYS_gettid));
    EXPECT_EQ(syscall(SYS_gettid), getpid());  // the main thread leads the group
}

std::atomic<int> g_counter{0};

void* Increment(void*) {
    for (int i = 0; i < 1000; ++i)
        g_counter.fetch_add(1);
    return nullptr;
}

TEST(CloneThreadTest, EightThreadsShareMemory) {
    g_counter = 0;
    std::vector<pthread_t> threads(8);
    for (auto& th : threads)
        ASSERT_EQ(pthread_create(&th, nullptr, Increment, nullptr), 0);
    for (auto& th : threads)
        ASSERT_EQ(pthread_join(th, nullptr), 0);
    EXPECT_EQ(g_counter.load(), 8000);
}

void* ExitThread(void*) { pthread_exit(reinterpret_cast<void*>(7)); }

TEST(CloneThreadTest, PthreadExitValue) {
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, nullptr, ExitThread, nullptr), 0);
    void* ret = nullptr;
    ASSERT_EQ(pthread_join(th, &ret), 0);
    EXPECT_EQ(ret, reinterpret_cast<void*>(7));
}

void* Fd(void* arg) {
    // The fd table is shared: a thread's open is visible to the others.
    *static_cast<int*>(arg) = open("/", O_RDONLY | O_DIRECTORY);
    return nullptr;
}

TEST(CloneThreadTest, SharedFdTable) {
    int fd = -1;
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, nullptr, Fd, &fd), 0);
    ASSERT_EQ(pthread_join(th, nullptr), 0);
    ASSERT_GE(fd, 0);
    EXPECT_THAT(fcntl(fd, F_GETFD), SyscallSucceeds());
    close(fd);
}

}  // namespace
}  // namespace moat::conformance
