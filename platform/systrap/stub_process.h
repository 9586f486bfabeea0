#pragma once
// SystrapStub: one stub process (one application address space) and the memory it shares
// with the sentry.
//
// The stub is forked by the platform's StubMonitor thread (so that PR_SET_PDEATHSIG ties it
// to the platform) and is never traced. Its main thread is the *helper*: it serves the
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
    // Forks a stub (on the monitor's thread) and waits until it is ready.
    [[nodiscard]] static Result<std::shared_ptr<SystrapStub>> Create(StubMonitor& monitor, int memory_fd);
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
        return m_shared.bytes() + kSlotsOffset + uint64_t{index} * kSlotSize;
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
    // Monitor thread only, in the forked child: never returns.
    [[noreturn]] void ChildMain();
    // Monitor thread only: records the forked child.
    void SetProcess(pid_t pid, UniqueFd pidfd);

private:
    SystrapStub() = default;
    [[nodiscard]] Result<void> MapShared(int memory_fd);
    RequestPage& Request() const { return *reinterpret_cast<RequestPage*>(m_shared.bytes()); }
    ReplyPage& Reply() const { return *reinterpret_cast<ReplyPage*>(m_shared.bytes() + SYSTRAP_REPLY_OFFSET); }

    UniqueFd m_shared_fd;    // the shared region's memfd (the child maps it as kSharedFd)
    HostMapping m_shared;    // the sentry's mapping of it
    int m_memory_fd = -1;    // borrowed from the platform, for the child
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
