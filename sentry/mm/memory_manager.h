#pragma once
// MemoryManager: one application address space as the sentry sees it — the VMAs the app
// asked for, the frames behind them, and what is mapped on the platform's AddressSpace.
//
// Lock order: MemoryManager::m_lock, then MemoryFile's lock. Never call into the platform's
// AddressSpace for an Unmap/Protect after dropping m_lock for a range you still rely on.

#include "platform/platform.h"
#include "sentry/mm/mappable.h"
#include "sentry/mm/memory_file.h"
#include "sentry/mm/user_addr.h"

#include <sys/mman.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace moat::mm {

// One line of /proc/[pid]/maps.
struct VmaInfo {
    uint64_t start = 0, end = 0;
    int prot = 0;          // PROT_*
    bool shared = false;   // MAP_SHARED
    uint64_t offset = 0;   // file offset
    uint64_t device = 0, inode = 0;
    std::string name;      // path, "[heap]", "[stack]", "[vdso]", "[vvar]" or empty
    bool anonymous = true;       // MAP_ANONYMOUS (also shared anonymous memory)
    uint64_t resident = 0;       // bytes backed by a frame (smaps' Rss)
    uint64_t private_resident = 0;  // of those, this mapping's own copies (anonymous or COW'd)
};

struct MmapRequest {
    uint64_t addr = 0;       // hint, or the exact address with MAP_FIXED/MAP_FIXED_NOREPLACE
    uint64_t length = 0;
    int prot = 0;            // PROT_*
    int flags = 0;           // MAP_* as the app passed them (MAP_PRIVATE/SHARED, FIXED, ANONYMOUS, GROWSDOWN…)
    std::shared_ptr<Mappable> file;  // null for anonymous
    uint64_t offset = 0;     // file offset (page aligned)
    int max_prot = PROT_READ | PROT_WRITE | PROT_EXEC;  // mprotect may not exceed (e.g. file opened O_RDONLY + MAP_SHARED)
    std::string name;        // shown in maps for special mappings ("[vdso]", "[stack]"…)
};

enum class FaultResult {
    Handled,     // the page is mapped now; resume the app
    SegvMapErr,  // no mapping: SIGSEGV SEGV_MAPERR
    SegvAccErr,  // mapping forbids this access: SIGSEGV SEGV_ACCERR
    BusErr,      // file mapping beyond end of file: SIGBUS BUS_ADRERR
    OutOfMemory, // no frame left (the memory file is full: --memory-limit): the OOM kill
};

// Process-image bookkeeping the loader fills and /proc reads.
struct MmLayout {
    uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
    uint64_t start_brk = 0, brk = 0;
    uint64_t start_stack = 0;
    uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
    std::vector<uint64_t> auxv;  // (type, value) pairs as placed on the stack, AT_NULL last
    std::string exe_path;        // for /proc/self/exe
    std::shared_ptr<void> exe_write_guard;  // the executable stays unwritable (ETXTBSY) while this lives
};

class MemoryManager {
public:
    static Result<std::shared_ptr<MemoryManager>> Create(MemoryFile& memory_file, platform::Platform& platform);
    ~MemoryManager();

    platform::AddressSpace& address_space() { return *m_as; }
    uint64_t min_address() const { return m_min; }
    uint64_t max_address() const { return m_max; }

    // ---- Linux's memory syscalls, with Linux's argument checks and errnos ----
    Result<uint64_t> Mmap(const MmapRequest& req);
    Result<void> Munmap(uint64_t addr, uint64_t length);
    Result<void> Mprotect(uint64_t addr, uint64_t length, int prot);
    Result<uint64_t> Mremap(uint64_t old_addr, uint64_t old_size, uint64_t new_size, int flags, uint64_t new_addr);
    Result<uint64_t> Brk(uint64_t addr);  // returns the (possibly unchanged) break, never an error
    Result<void> Madvise(uint64_t addr, uint64_t length, int advice);
    Result<void> Msync(uint64_t addr, uint64_t length, int flags);
    Result<void> Mincore(uint64_t addr, uint64_t length, UserAddr vec);

    // ---- Faults (from the platform) ----
    FaultResult HandleFault(uint64_t addr, int access /* platform::AccessBits, 0 = unknown */);

    // ---- The sentry's access to app memory, through its own mapping of the memory file ----
    // Copies honour the VMA protections as the kernel's copy_{to,from}_user do (EFAULT).
    Result<void> CopyIn(UserAddr src, void* dst, size_t len);
    Result<void> CopyOut(UserAddr dst, const void* src, size_t len);
    // Copies a NUL-terminated string of at most max_len bytes (without the NUL);
    // ENAMETOOLONG if no NUL within max_len, EFAULT on a bad address.
    Result<std::string> CopyInString(UserAddr src, size_t max_len);
    // Reads ignoring protections (for the platform's instruction decoder); bytes read.
    size_t ReadForPlatform(uint64_t addr, void* dst, size_t len);
    // Writes ignoring protections (the loader filling read-only segments); EFAULT if unmapped.
    Result<void> ForceWrite(UserAddr dst, const void* src, size_t len);
    Result<void> ForceZero(UserAddr dst, size_t len);
    // The platform rewriting code it runs (platform::CodeWriter, systrap's syscall patching):
    // only within one private, executable, non-writable area; EPERM otherwise.
    Result<void> WriteCodeForPlatform(uint64_t addr, const void* src, size_t len);

    // Futexes (Linux's get_futex_key and futex_atomic_*): calls fn (if given) with the sentry's
    // pointer to the aligned 32-bit word at `addr`, under the manager's lock so the frame
    // cannot go away meanwhile (use std::atomic_ref on it: the app may be using it too).
    // With `write` the page is populated as a write would (COW broken; PROT_WRITE needed).
    // Returns the word's memory-file offset when its area is MAP_SHARED (the key processes
    // sharing the page agree on), nullopt for a private area. EINVAL unaligned, EFAULT bad.
    Result<std::optional<uint64_t>> FutexWord(UserAddr addr, bool write,
                                              const std::function<void(uint32_t*)>& fn = {});

    template <typename T>
    Result<T> CopyInObject(UserAddr src) {
        T v;
        TRY(CopyIn(src, &v, sizeof(T)));
        return v;
    }
    template <typename T>
    Result<void> CopyOutObject(UserAddr dst, const T& v) { return CopyOut(dst, &v, sizeof(T)); }

    // ---- Layout and introspection ----
    MmLayout& layout() { return m_layout; }          // loader writes it before the first run
    void SetBrkStart(uint64_t start);                  // loader: end of the highest segment
    std::vector<VmaInfo> Vmas() const;
    uint64_t resident_pages() const;                   // for /proc statm/status
    uint64_t virtual_size() const;
    // RLIMIT_STACK: how far a MAP_GROWSDOWN area may grow (default 8 MiB).
    void set_stack_limit(uint64_t bytes);
    // Where top-down mmap placement starts (just under the stack gap, like Linux's mmap_base).
    uint64_t mmap_base() const;

    // ---- fork ----
    // A new address space with the same VMAs: shared mappings share frames, private frames
    // are shared copy-on-write (the first write on either side copies).
    Result<std::shared_ptr<MemoryManager>> Fork();

private:
    MemoryManager(MemoryFile& mf, std::shared_ptr<platform::AddressSpace> as, uint64_t min, uint64_t max);
    struct Impl;
    MemoryFile& m_mf;
    std::shared_ptr<platform::AddressSpace> m_as;
    uint64_t m_min, m_max;
    MmLayout m_layout;
    std::unique_ptr<Impl> m_impl;  // VMAs and frames; guarded by its own mutex
};

}  // namespace moat::mm
