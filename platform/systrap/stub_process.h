#pragma once
// SystrapStub: one stub process (one application address space) and the memory it shares
// with the sentry.
//
// The first stub of a platform is the *zygote*: forked by the platform's StubMonitor thread
// (so that PR_SET_PDEATHSIG ties it to the platform), it never runs application code; it only
// forks the other stubs, on request through its mailbox, with CLONE_PARENT so that they too
// are children of the monitor thread. Forking the tiny zygote instead of the sentry costs
// little (no copy of the sentry's page tables, no copy-on-write faults in the sentry after
// it), and needs no hop to the monitor thread. No stub is ever traced. Its main thread is the *helper*: it serves the
// sentry's requests (Map/Unmap/Protect, new threads) from the mailbox in the shared region.
// Application threads are stub threads the helper clones, each with a slot of the shared
// region (see stub_layout.h) that its SystrapContext uses for the hand-off.
//
// Lifetime: the SystrapAddressSpace, every context with a thread in it, and the monitor (until
// it has reaped the stub) hold a reference. Kill() is called when the address space goes; the
// monitor sees the exit through the stub's pidfd, reaps it and calls MarkDead(), which wakes
// every waiter.
//
// Lock order: m_request_lock, then m_slot_lock; both leaves otherwise.

#include "platform/base/host_mapping.h"
#include "platform/base/result.h"
#include "platform/base/unique_fd.h"
#include "platform/systrap/shared_region.h"
#include "platform/systrap/stub_layout.h"

#include <sys/types.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace moat::platform::systrap {

class StubMonitor;

class SystrapStub {
public:
    // Forks the zygote (on the monitor's thread) and waits until it is ready.
    [[nodiscard]] static Result<std::shared_ptr<SystrapStub>> CreateZygote(StubMonitor& monitor,
                                                                          std::shared_ptr<SharedRegionPool> pool,
                                                                          int memory_fd);
    // Has the zygote fork a stub, hands it to the monitor and waits until it is ready.
    [[nodiscard]] static Result<std::shared_ptr<SystrapStub>> Create(StubMonitor& monitor, SystrapStub& zygote);
    ~SystrapStub();
    SystrapStub(const SystrapStub&) = delete;
    SystrapStub& operator=(const SystrapStub&) = delete;

    pid_t pid() const { return m_pid; }
    int pidfd() const { return m_pidfd.get(); }
    bool dead() const { return m_dead.load(std::memory_order_acquire); }

    // Runs system call `nr` in the helper; a negative result comes back as its errno.
    [[nodiscard]] Result<uint64_t> Syscall(long nr, const std::array<uint64_t, 6>& args);

    // A free slot, its header reset (ESRCH when dead, EAGAIN when all are taken).
    [[nodiscard]] Result<uint32_t> AllocSlot();
    void FreeSlot(uint32_t index);
    // The slot's thread was told to exit: the slot is reused once the kernel has cleared its
    // tid word (CLONE_CHILD_CLEARTID), checked by AllocSlot, so that nobody waits for the exit.
    void RetireSlot(uint32_t index);
    // The sentry's view of slot `index` (kSlotSize bytes).
    uint8_t* SlotBytes(uint32_t index) const {
        return m_window.bytes + kSlotsOffset + uint64_t{index} * kSlotSize;
    }
    SlotHeader& Slot(uint32_t index) const { return *reinterpret_cast<SlotHeader*>(SlotBytes(index)); }
    // Makes a new application thread in `slot`; it parks in the handler. Returns its tid.
    [[nodiscard]] Result<pid_t> CloneThread(uint32_t slot);

    // SIGKILLs the stub (its address space is gone). Any thread; does not wait: the monitor
    // reaps the stub and holds a reference until then.
    void Kill();
    bool killed() const { return m_killed.load(std::memory_order_acquire); }
    // The monitor has reaped the stub: wake everyone waiting on it.
    void MarkDead();
    // Monitor thread only, in the forked zygote: never returns.
    [[noreturn]] void ChildMain();
    // Monitor thread only: records the forked child.
    void SetProcess(pid_t pid, UniqueFd pidfd);

private:
    explicit SystrapStub(std::shared_ptr<SharedRegionPool> pool) : m_pool(std::move(pool)) {}
    // A window of the pool, its mailbox reset and the BPF programs written.
    [[nodiscard]] Result<void> TakeWindow();
    [[nodiscard]] Result<void> WaitReady();
    RequestPage& Request() const { return *reinterpret_cast<RequestPage*>(m_window.bytes); }
    ReplyPage& Reply() const { return *reinterpret_cast<ReplyPage*>(m_window.bytes + SYSTRAP_REPLY_OFFSET); }

    std::shared_ptr<SharedRegionPool> m_pool;
    SharedRegionPool::Window m_window;  // the shared region: the sentry's view of it
    bool m_has_window = false;
    int m_memory_fd = -1;    // borrowed from the platform, for the zygote
    pid_t m_pid = 0;         // set by the monitor before Create returns, then const
    UniqueFd m_pidfd;
    std::atomic<bool> m_dead{false};
    std::atomic<bool> m_killed{false};

    std::mutex m_request_lock;  // one mailbox request at a time
    uint32_t m_seq = 0;         // guarded by m_request_lock

    enum class SlotUse : uint8_t { Free, Used, Exiting };
    std::mutex m_slot_lock;
    std::vector<SlotUse> m_slots;  // guarded by m_slot_lock
};

}  // namespace moat::platform::systrap
