#pragma once
// Where the systrap stub lives in every stub process, and the layout of the memory it shares
// with the sentry. Included by stub.S too: plain #defines for the assembler, typed constants
// and structs for C++.
//
//   kCodeBase     stub code, r-x: the only place host system calls are allowed from
//   kSharedBase   the shared region (the stub's window of the platform's shared file, mapped
//                 by the sentry too; see shared_region.h):
//                   request page  (stub: read-only)  the address-space mailbox, BPF programs
//                   reply page    (stub: read-write) the helper's answers
//                   slots         (stub: read-write) one per application thread: hand-off
//                                 words, then the thread's first stack, then its altstack
//
// The slot of a thread is found from the stack pointer in its signal handler (the handler
// runs on the altstack, inside the slot; slots are aligned to their size).

#define SYSTRAP_CODE_BASE 0x7ffff0000000
#define SYSTRAP_CODE_SIZE 0x2000
#define SYSTRAP_SHARED_BASE 0x7ffff0010000
#define SYSTRAP_USER_TOP 0x7ffffffff000
#define SYSTRAP_PAGE_SIZE 0x1000

#define SYSTRAP_REQUEST_OFFSET 0x0
#define SYSTRAP_REPLY_OFFSET 0x1000
#define SYSTRAP_SLOTS_OFFSET 0x10000
#define SYSTRAP_SLOT_SIZE 0x8000
#define SYSTRAP_MAX_SLOTS 4096
#define SYSTRAP_SHARED_SIZE (SYSTRAP_SLOTS_OFFSET + SYSTRAP_MAX_SLOTS * SYSTRAP_SLOT_SIZE)
// The zygote keeps the platform's shared file open at this fd; a stub it forks maps its own
// window from it and closes it.
#define SYSTRAP_ZYGOTE_FD 5

// Request page.
#define SYSTRAP_REQ_SEQ 0x0          // u32, bumped by the sentry for each request (futex)
#define SYSTRAP_REQ_NR 0x8           // u64 system call number
#define SYSTRAP_REQ_ARGS 0x10        // u64[6]
#define SYSTRAP_REQ_BASE_PROG 0x40   // struct sock_fprog: the whole stub's filter
#define SYSTRAP_REQ_THREAD_PROG 0x50 // struct sock_fprog: each application thread's
#define SYSTRAP_REQ_FILTERS 0x100    // the BPF instructions both point into

// Reply page.
#define SYSTRAP_REP_DONE 0x0         // u32: the last request served (futex); kDeadSeq when dead
#define SYSTRAP_REP_READY 0x4        // u32: 1 once the stub is set up (futex)
#define SYSTRAP_REP_RESULT 0x8       // i64 raw result of the last request

// Slot.
#define SYSTRAP_SLOT_STATE 0x0           // u32 (futex): see the State constants
#define SYSTRAP_SLOT_STUB_SLEEPING 0x4   // u32: the handler is (about to be) in futex_wait
#define SYSTRAP_SLOT_SENTRY_SLEEPING 0x8 // u32: the sentry is (about to be) in futex_wait
#define SYSTRAP_SLOT_TID 0xc             // u32: CLONE_CHILD_SETTID/CLEARTID word
#define SYSTRAP_SLOT_SIGINFO 0x10        // u64: siginfo_t* of the published frame
#define SYSTRAP_SLOT_UCONTEXT 0x18       // u64: ucontext_t* of the published frame
#define SYSTRAP_SLOT_SET_FS 0x20         // u64: nonzero: arch_prctl(ARCH_SET_FS) before resuming
#define SYSTRAP_SLOT_FS_BASE 0x28
#define SYSTRAP_SLOT_SET_GS 0x30
#define SYSTRAP_SLOT_GS_BASE 0x38
#define SYSTRAP_SLOT_ZERO_MASK 0x40      // u64 0: the signal mask a new thread sets
#define SYSTRAP_SLOT_ALTSTACK_DESC 0x48  // stack_t for sigaltstack (24 bytes)
#define SYSTRAP_SLOT_STUB_SPIN 0x60       // u32: how many `pause`s the handler spins before it sleeps
#define SYSTRAP_SLOT_SELF 0x68            // u64: the slot's own stub address (the fast path checks %gs with it)
#define SYSTRAP_SLOT_FAST_EXIT 0x70       // u64: where the fast path's exit jumps: the plain or the park tail
#define SYSTRAP_SLOT_FAST_GREGS 0x80      // greg_t[18]: the fast path's registers, in ucontext's REG_* order
#define SYSTRAP_SLOT_FAST_STACK 0x800     // the fast path's stack top (a few words: flags, a return address)
#define SYSTRAP_SLOT_START_STACK 0x1000  // a new thread's stack pointer (no stack is used)
#define SYSTRAP_SLOT_ALTSTACK 0x1000     // the altstack: [0x1000, SLOT_SIZE)

#define SYSTRAP_STATE_EVENT 2   // the handler published a frame and waits
#define SYSTRAP_STATE_RESUME 3  // the sentry released the frame
#define SYSTRAP_STATE_DEAD 4    // the stub is gone (written by the sentry's monitor)
#define SYSTRAP_STATE_FAST 5    // the fast path published a system call (registers in FAST_GREGS) and waits

// The fast path's register slots (ucontext's REG_* indices, times 8).
#define SYSTRAP_FG(reg) (SYSTRAP_SLOT_FAST_GREGS + 8 * (reg))
#define SYSTRAP_R8 0
#define SYSTRAP_R9 1
#define SYSTRAP_R10 2
#define SYSTRAP_R11 3
#define SYSTRAP_R12 4
#define SYSTRAP_R13 5
#define SYSTRAP_R14 6
#define SYSTRAP_R15 7
#define SYSTRAP_RDI 8
#define SYSTRAP_RSI 9
#define SYSTRAP_RBP 10
#define SYSTRAP_RBX 11
#define SYSTRAP_RDX 12
#define SYSTRAP_RAX 13
#define SYSTRAP_RCX 14
#define SYSTRAP_RSP 15
#define SYSTRAP_RIP 16
#define SYSTRAP_EFL 17
#define SYSTRAP_FAST_GREGS_COUNT 18

// ucontext_t offsets the handler needs (uc_mcontext.gregs at 40).
#define SYSTRAP_UC_GREG(reg) (40 + 8 * (reg))

// The trap table of a patched address space (syscall_patcher.h): application memory, r-x, at
// a fixed address below 2 GiB whose third byte, 0x06, is an invalid opcode. A patched site
// `mov $nr,%eax; syscall` becomes `jmp *entry` (ff 24 25 <entry>); the entry's code loads the
// entry's address into %r11 and jumps through the table's first word to the fast path.
#define SYSTRAP_TABLE_BASE 0x60000
#define SYSTRAP_TABLE_SIZE 0x10000
#define SYSTRAP_ENTRY_SIZE 64
#define SYSTRAP_ENTRY_CELL 0x0   // u64: the address of the entry's code (the site jumps through it)
#define SYSTRAP_ENTRY_NR 0x8     // u32: the system call number
#define SYSTRAP_ENTRY_CODE 0x10  // mov $entry,%r11d; jmp *(SYSTRAP_TABLE_BASE)
#define SYSTRAP_ENTRY_RET 0x20   // u64: the address after the site's syscall instruction
#define SYSTRAP_ENTRY_SITE 0x28  // u64: the site

#ifndef __ASSEMBLER__

#include <atomic>
#include <cstdint>

extern "C" {
// Defined in stub.S. moat_systrap_enter runs in the forked child; the rest is the code page.
[[noreturn]] void moat_systrap_enter(uint64_t code_base, uint64_t shared_base, uint64_t shared_size);
extern const char moat_systrap_start[];
extern const char moat_systrap_handler[];
extern const char moat_systrap_restorer[];
extern const char moat_systrap_exit[];
extern const char moat_systrap_fast_entry[];
extern const char moat_systrap_fast_checked[];
extern const char moat_systrap_park_tail[];
extern const char moat_systrap_park_end[];
extern const char moat_systrap_end[];
}

namespace moat::platform::systrap {

inline constexpr uint64_t kCodeBase = SYSTRAP_CODE_BASE;
inline constexpr uint64_t kCodeSize = SYSTRAP_CODE_SIZE;
inline constexpr uint64_t kSharedBase = SYSTRAP_SHARED_BASE;
inline constexpr uint64_t kUserTop = SYSTRAP_USER_TOP;
inline constexpr uint64_t kPageSize = SYSTRAP_PAGE_SIZE;
inline constexpr uint64_t kSlotSize = SYSTRAP_SLOT_SIZE;
inline constexpr uint64_t kSlotsOffset = SYSTRAP_SLOTS_OFFSET;
inline constexpr uint32_t kMaxSlots = SYSTRAP_MAX_SLOTS;
inline constexpr uint64_t kSharedSize = SYSTRAP_SHARED_SIZE;
static_assert(kSharedSize == kSlotsOffset + uint64_t{kMaxSlots} * kSlotSize);
// The memory file's fd number inside every stub (its only open fd once set up).
inline constexpr int kMemoryFd = 3;
// The shared file while the zygote maps its window (closed right after).
inline constexpr int kSharedFd = 4;
inline constexpr int kZygoteFd = SYSTRAP_ZYGOTE_FD;
inline constexpr uint32_t kDeadSeq = 0xffffffffu;

enum SlotState : uint32_t {
    kStateEvent = SYSTRAP_STATE_EVENT,
    kStateResume = SYSTRAP_STATE_RESUME,
    kStateDead = SYSTRAP_STATE_DEAD,
    kStateFast = SYSTRAP_STATE_FAST,
};

struct RequestPage {
    std::atomic<uint32_t> seq;
    uint32_t pad;
    uint64_t nr;
    uint64_t args[6];
};
static_assert(offsetof(RequestPage, nr) == SYSTRAP_REQ_NR);
static_assert(offsetof(RequestPage, args) == SYSTRAP_REQ_ARGS);

struct ReplyPage {
    std::atomic<uint32_t> done;
    std::atomic<uint32_t> ready;
    int64_t result;
};
static_assert(offsetof(ReplyPage, ready) == SYSTRAP_REP_READY);
static_assert(offsetof(ReplyPage, result) == SYSTRAP_REP_RESULT);

struct SlotHeader {
    std::atomic<uint32_t> state;
    std::atomic<uint32_t> stub_sleeping;
    std::atomic<uint32_t> sentry_sleeping;
    std::atomic<uint32_t> tid;
    uint64_t siginfo;
    uint64_t ucontext;
    uint64_t set_fs;
    uint64_t fs_base;
    uint64_t set_gs;
    uint64_t gs_base;
    uint64_t zero_mask;
    uint64_t altstack_sp;
    int32_t altstack_flags;
    int32_t pad;
    uint64_t altstack_size;
    std::atomic<uint32_t> stub_spin;
    uint32_t pad2;
    uint64_t self;
    uint64_t fast_exit;
    uint64_t pad3;
    int64_t fast_gregs[SYSTRAP_FAST_GREGS_COUNT];
};
static_assert(offsetof(SlotHeader, stub_sleeping) == SYSTRAP_SLOT_STUB_SLEEPING);
static_assert(offsetof(SlotHeader, sentry_sleeping) == SYSTRAP_SLOT_SENTRY_SLEEPING);
static_assert(offsetof(SlotHeader, tid) == SYSTRAP_SLOT_TID);
static_assert(offsetof(SlotHeader, siginfo) == SYSTRAP_SLOT_SIGINFO);
static_assert(offsetof(SlotHeader, ucontext) == SYSTRAP_SLOT_UCONTEXT);
static_assert(offsetof(SlotHeader, set_fs) == SYSTRAP_SLOT_SET_FS);
static_assert(offsetof(SlotHeader, fs_base) == SYSTRAP_SLOT_FS_BASE);
static_assert(offsetof(SlotHeader, set_gs) == SYSTRAP_SLOT_SET_GS);
static_assert(offsetof(SlotHeader, gs_base) == SYSTRAP_SLOT_GS_BASE);
static_assert(offsetof(SlotHeader, zero_mask) == SYSTRAP_SLOT_ZERO_MASK);
static_assert(offsetof(SlotHeader, altstack_sp) == SYSTRAP_SLOT_ALTSTACK_DESC);
static_assert(offsetof(SlotHeader, stub_spin) == SYSTRAP_SLOT_STUB_SPIN);
static_assert(offsetof(SlotHeader, self) == SYSTRAP_SLOT_SELF);
static_assert(offsetof(SlotHeader, fast_exit) == SYSTRAP_SLOT_FAST_EXIT);
static_assert(offsetof(SlotHeader, fast_gregs) == SYSTRAP_SLOT_FAST_GREGS);
static_assert(sizeof(SlotHeader) <= SYSTRAP_SLOT_FAST_STACK - 64);

inline uint64_t CodeAddress(const char* label) {
    return kCodeBase + static_cast<uint64_t>(label - moat_systrap_start);
}
// The stub address of slot `index`.
inline uint64_t SlotAddress(uint32_t index) { return kSharedBase + kSlotsOffset + uint64_t{index} * kSlotSize; }

}  // namespace moat::platform::systrap

#endif
