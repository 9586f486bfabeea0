#include "sentry/kernel/timer_queue.h"

#include "sentry/kernel/interval_timer.h"
#include "sentry/kernel/timekeeper.h"
#include "sentry/mm/memory_file.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace moat::kernel {
namespace {

using namespace std::chrono_literals;

// Waits (up to 5 s) until `done` is true.
template <typename Pred>
bool WaitFor(Pred done) {
    auto end = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(1ms);
    return done();
}

TEST(TimerQueueTest, RunsCallbacksInDeadlineOrder) {
    TimerQueue queue;
    std::mutex lock;
    std::vector<int> order;
    auto now = TimerQueue::Clock::now();
    for (int i : {3, 1, 2})
        queue.Schedule(now + i * 10ms, [&, i] {
            std::lock_guard g(lock);
            order.push_back(i);
        });
    ASSERT_TRUE(WaitFor([&] {
        std::lock_guard g(lock);
        return order.size() == 3;
    }));
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(queue.size(), 0u);
}

TEST(TimerQueueTest, CancelledEntriesDoNotRun) {
    TimerQueue queue;
    std::atomic<int> ran{0};
    auto key = queue.Schedule(TimerQueue::Clock::now() + 20ms, [&] { ran.fetch_add(1); });
    EXPECT_TRUE(queue.Cancel(key));
    EXPECT_FALSE(queue.Cancel(key));
    queue.Schedule(TimerQueue::Clock::now() + 30ms, [&] { ran.fetch_add(10); });
    ASSERT_TRUE(WaitFor([&] { return ran.load() != 0; }));
    EXPECT_EQ(ran.load(), 10);
}

TEST(TimerQueueTest, DestroyedWithPendingEntries) {
    std::atomic<int> ran{0};
    {
        TimerQueue queue;
        queue.Schedule(TimerQueue::Clock::now() + 1h, [&] { ran.fetch_add(1); });
    }
    EXPECT_EQ(ran.load(), 0);
}

class IntervalTimerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto mf = mm::MemoryFile::Create(1ull << 30);
        ASSERT_TRUE(mf.ok());
        m_mf = mf.release_value();
        auto tk = Timekeeper::Create(*m_mf);
        ASSERT_TRUE(tk.ok());
        m_tk = tk.release_value();
    }
    TimerClock Monotonic() { return TimerClock::Wall(*m_tk, CLOCK_MONOTONIC); }

    std::unique_ptr<mm::MemoryFile> m_mf;
    std::unique_ptr<Timekeeper> m_tk;
    TimerQueue m_queue;
};

TEST_F(IntervalTimerTest, OneShotFiresOnceAndDisarms) {
    std::atomic<uint64_t> count{0};
    auto timer = IntervalTimer::Create(m_queue, Monotonic(), [&](uint64_t n) { count.fetch_add(n); });
    auto start = std::chrono::steady_clock::now();
    timer->Set({20'000'000, 0});
    ASSERT_TRUE(WaitFor([&] { return count.load() == 1; }));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(count.load(), 1u);
    EXPECT_EQ(timer->Get().value_ns, 0);
}

TEST_F(IntervalTimerTest, PeriodicCountsEveryExpiration) {
    std::atomic<uint64_t> count{0};
    auto timer = IntervalTimer::Create(m_queue, Monotonic(), [&](uint64_t n) { count.fetch_add(n); });
    // Finer than the queue runs it: the expirations are still all counted, no more, no less.
    auto start = std::chrono::steady_clock::now();
    timer->Set({10'000, 10'000});
    ASSERT_TRUE(WaitFor([&] { return count.load() >= 4000; }));
    auto old = timer->Set({});
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(old.interval_ns, 10'000);
    EXPECT_GT(old.value_ns, 0);
    EXPECT_LE(count.load(), static_cast<uint64_t>(elapsed / 10us) + 1);
}

TEST_F(IntervalTimerTest, RearmingReplacesTheDeadline) {
    std::atomic<uint64_t> count{0};
    auto timer = IntervalTimer::Create(m_queue, Monotonic(), [&](uint64_t n) { count.fetch_add(n); });
    timer->Set({10'000'000, 0});
    auto old = timer->Set({3'600'000'000'000, 0});
    EXPECT_GT(old.value_ns, 0);
    EXPECT_LE(old.value_ns, 10'000'000);
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(count.load(), 0u);
    EXPECT_GT(timer->Get().value_ns, 3'500'000'000'000);
}

TEST_F(IntervalTimerTest, NotifyFalseIsNeverQueued) {
    auto timer = IntervalTimer::Create(m_queue, Monotonic(), [](uint64_t) { FAIL(); }, false);
    timer->Set({1'000'000, 0});
    EXPECT_EQ(m_queue.size(), 0u);
    std::this_thread::sleep_for(5ms);
    EXPECT_EQ(timer->Get().value_ns, 0);
}

TEST_F(IntervalTimerTest, DestroyingCancels) {
    {
        auto timer = IntervalTimer::Create(m_queue, Monotonic(), [](uint64_t) {});
        timer->Set({3'600'000'000'000, 0});
        EXPECT_EQ(m_queue.size(), 1u);
    }
    EXPECT_EQ(m_queue.size(), 0u);
}

}  // namespace
}  // namespace moat::kernel
