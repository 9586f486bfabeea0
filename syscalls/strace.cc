#include "syscalls/strace.h"

#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/table.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <array>
#include <cstring>
#include <initializer_list>
#include <string_view>

namespace moat::syscalls {
namespace {

enum class Arg : uint8_t {
    Dec, UDec, Hex, Fd, DirFd, Path, InBuf, OutBuf, Ptr, OpenFlags, Mode, Prot, MapFlags,
    Signal, AtFlags, Whence, ClockId, Octal,
};
enum class Ret : uint8_t { Dec, Hex };

struct Signature {
    uint64_t nr;
    Ret ret;
    std::initializer_list<Arg> args;
};

using enum Arg;
// The calls whose arguments --strace decodes; others print as hex words.
const Signature kSignatures[] = {
    {SYS_read, Ret::Dec, {Fd, OutBuf, UDec}},
    {SYS_write, Ret::Dec, {Fd, InBuf, UDec}},
    {SYS_pread64, Ret::Dec, {Fd, OutBuf, UDec, Dec}},
    {SYS_pwrite64, Ret::Dec, {Fd, InBuf, UDec, Dec}},
    {SYS_open, Ret::Dec, {Path, OpenFlags, Octal}},
    {SYS_openat, Ret::Dec, {DirFd, Path, OpenFlags, Octal}},
    {SYS_close, Ret::Dec, {Fd}},
    {SYS_stat, Ret::Dec, {Path, Ptr}},
    {SYS_lstat, Ret::Dec, {Path, Ptr}},
    {SYS_fstat, Ret::Dec, {Fd, Ptr}},
    {SYS_newfstatat, Ret::Dec, {DirFd, Path, Ptr, AtFlags}},
    {SYS_statx, Ret::Dec, {DirFd, Path, AtFlags, Hex, Ptr}},
    {SYS_lseek, Ret::Dec, {Fd, Dec, Whence}},
    {SYS_mmap, Ret::Hex, {Ptr, UDec, Prot, MapFlags, Fd, Hex}},
    {SYS_mprotect, Ret::Dec, {Ptr, UDec, Prot}},
    {SYS_munmap, Ret::Dec, {Ptr, UDec}},
    {SYS_mremap, Ret::Hex, {Ptr, UDec, UDec, Hex, Ptr}},
    {SYS_brk, Ret::Hex, {Ptr}},
    {SYS_access, Ret::Dec, {Path, Octal}},
    {SYS_faccessat, Ret::Dec, {DirFd, Path, Octal}},
    {SYS_faccessat2, Ret::Dec, {DirFd, Path, Octal, AtFlags}},
    {SYS_readlink, Ret::Dec, {Path, OutBuf, UDec}},
    {SYS_readlinkat, Ret::Dec, {DirFd, Path, OutBuf, UDec}},
    {SYS_getdents64, Ret::Dec, {Fd, Ptr, UDec}},
    {SYS_getcwd, Ret::Dec, {OutBuf, UDec}},
    {SYS_chdir, Ret::Dec, {Path}},
    {SYS_fchdir, Ret::Dec, {Fd}},
    {SYS_ioctl, Ret::Dec, {Fd, Hex, Ptr}},
    {SYS_fcntl, Ret::Dec, {Fd, Dec, Hex}},
    {SYS_dup, Ret::Dec, {Fd}},
    {SYS_dup2, Ret::Dec, {Fd, Fd}},
    {SYS_dup3, Ret::Dec, {Fd, Fd, OpenFlags}},
    {SYS_execve, Ret::Dec, {Path, Ptr, Ptr}},
    {SYS_exit, Ret::Dec, {Dec}},
    {SYS_exit_group, Ret::Dec, {Dec}},
    {SYS_kill, Ret::Dec, {Dec, Signal}},
    {SYS_tgkill, Ret::Dec, {Dec, Dec, Signal}},
    {SYS_rt_sigaction, Ret::Dec, {Signal, Ptr, Ptr, UDec}},
    {SYS_rt_sigprocmask, Ret::Dec, {Dec, Ptr, Ptr, UDec}},
    {SYS_clock_gettime, Ret::Dec, {ClockId, Ptr}},
    {SYS_clock_getres, Ret::Dec, {ClockId, Ptr}},
    {SYS_clock_nanosleep, Ret::Dec, {ClockId, Hex, Ptr, Ptr}},
    {SYS_nanosleep, Ret::Dec, {Ptr, Ptr}},
    {SYS_getrandom, Ret::Dec, {Ptr, UDec, Hex}},
    {SYS_arch_prctl, Ret::Dec, {Hex, Ptr}},
    {SYS_set_tid_address, Ret::Dec, {Ptr}},
    {SYS_set_robust_list, Ret::Dec, {Ptr, UDec}},
    {SYS_prlimit64, Ret::Dec, {Dec, Dec, Ptr, Ptr}},
    {SYS_uname, Ret::Dec, {Ptr}},
    {SYS_umask, Ret::Dec, {Octal}},
    {SYS_rseq, Ret::Dec, {Ptr, UDec, Hex, Hex}},
    {SYS_madvise, Ret::Dec, {Ptr, UDec, Dec}},
    {SYS_futex, Ret::Dec, {Ptr, Dec, Dec, Ptr, Ptr, Dec}},
};

const Signature* FindSignature(uint64_t nr) {
    for (const Signature& s : kSignatures)
        if (s.nr == nr)
            return &s;
    return nullptr;
}

struct FlagName {
    int64_t bit;
    const char* name;
};

std::string Flags(uint64_t v, std::initializer_list<FlagName> names, const char* zero) {
    std::string out;
    for (const FlagName& f : names) {
        if (f.bit != 0 && (v & static_cast<uint64_t>(f.bit)) == static_cast<uint64_t>(f.bit)) {
            if (!out.empty())
                out += '|';
            out += f.name;
            v &= ~static_cast<uint64_t>(f.bit);
        }
    }
    if (v != 0) {
        if (!out.empty())
            out += '|';
        out += fmt::format("{:#x}", v);
    }
    return out.empty() ? zero : out;
}

std::string Quote(std::string_view s, size_t limit, bool truncated) {
    std::string out = "\"";
    size_t n = std::min(s.size(), limit);
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        default:
            if (c >= 0x20 && c < 0x7f)
                out += static_cast<char>(c);
            else
                out += fmt::format("\\{:o}", c);
        }
    }
    out += '"';
    if (truncated || s.size() > limit)
        out += "...";
    return out;
}

constexpr size_t kStringLimit = 32;

std::string Buffer(kernel::Task& task, uint64_t addr, int64_t len) {
    if (len <= 0)
        return len == 0 ? "\"\"" : fmt::format("{:#x}", addr);
    size_t n = std::min<size_t>(static_cast<size_t>(len), kStringLimit);
    std::string buf(n, '\0');
    if (!task.mm().CopyIn(mm::UserAddr(addr), buf.data(), n).ok())
        return fmt::format("{:#x}", addr);
    return Quote(buf, kStringLimit, static_cast<size_t>(len) > kStringLimit);
}

std::string PathArg(kernel::Task& task, uint64_t addr) {
    if (addr == 0)
        return "NULL";
    auto s = task.mm().CopyInString(mm::UserAddr(addr), 4096);
    if (!s.ok())
        return fmt::format("{:#x}", addr);
    return Quote(*s, 4096, false);
}

std::string FormatArg(kernel::Task& task, Arg kind, uint64_t v, const SyscallArgs& args, size_t i, int64_t result) {
    switch (kind) {
    case Dec:
        return fmt::format("{}", static_cast<int64_t>(v));
    case UDec:
        return fmt::format("{}", v);
    case Hex:
        return fmt::format("{:#x}", v);
    case Fd:
        return fmt::format("{}", static_cast<int>(v));
    case DirFd:
        return static_cast<int>(v) == AT_FDCWD ? "AT_FDCWD" : fmt::format("{}", static_cast<int>(v));
    case Path:
        return PathArg(task, v);
    case InBuf:
        return Buffer(task, v, i + 1 < args.size() ? static_cast<int64_t>(args[i + 1]) : 0);
    case OutBuf:
        return result >= 0 ? Buffer(task, v, result) : fmt::format("{:#x}", v);
    case Ptr:
        return v == 0 ? "NULL" : fmt::format("{:#x}", v);
    case Octal:
        return fmt::format("{:#o}", v);
    case OpenFlags: {
        const char* acc = (v & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : (v & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "O_RDWR";
        std::string rest = Flags(v & ~static_cast<uint64_t>(O_ACCMODE),
                                 {{O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_NOCTTY, "O_NOCTTY"}, {O_TRUNC, "O_TRUNC"},
                                  {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_DIRECTORY, "O_DIRECTORY"},
                                  {O_NOFOLLOW, "O_NOFOLLOW"}, {O_CLOEXEC, "O_CLOEXEC"}, {O_PATH, "O_PATH"},
                                  {O_TMPFILE, "O_TMPFILE"}, {O_DIRECT, "O_DIRECT"}, {O_LARGEFILE, "O_LARGEFILE"},
                                  {O_NOATIME, "O_NOATIME"}, {O_SYNC, "O_SYNC"}, {O_DSYNC, "O_DSYNC"}},
                                 "");
        return rest.empty() ? acc : fmt::format("{}|{}", acc, rest);
    }
    case Mode:
        return fmt::format("{:#o}", v);
    case Prot:
        return Flags(v, {{PROT_READ, "PROT_READ"}, {PROT_WRITE, "PROT_WRITE"}, {PROT_EXEC, "PROT_EXEC"}}, "PROT_NONE");
    case MapFlags: {
        const char* type = (v & 3) == MAP_SHARED ? "MAP_SHARED" : (v & 3) == MAP_PRIVATE ? "MAP_PRIVATE" : (v & 3) == 3 ? "MAP_SHARED_VALIDATE" : "0";
        std::string rest = Flags(v & ~3ull,
                                 {{MAP_FIXED, "MAP_FIXED"}, {MAP_ANONYMOUS, "MAP_ANONYMOUS"}, {MAP_GROWSDOWN, "MAP_GROWSDOWN"},
                                  {MAP_DENYWRITE, "MAP_DENYWRITE"}, {MAP_NORESERVE, "MAP_NORESERVE"}, {MAP_POPULATE, "MAP_POPULATE"},
                                  {MAP_STACK, "MAP_STACK"}, {MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"}, {MAP_32BIT, "MAP_32BIT"}},
                                 "");
        return rest.empty() ? type : fmt::format("{}|{}", type, rest);
    }
    case Signal:
        if (v > 0 && v < 65) {
            const char* abbrev = sigabbrev_np(static_cast<int>(v));
            if (abbrev)
                return fmt::format("SIG{}", abbrev);
        }
        return fmt::format("{}", static_cast<int>(v));
    case AtFlags:
        return Flags(v, {{AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {AT_REMOVEDIR, "AT_REMOVEDIR"}, {AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
                         {AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"}, {AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {AT_EACCESS, "AT_EACCESS"}},
                     "0");
    case Whence: {
        static const char* names[] = {"SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE"};
        return v < 5 ? names[v] : fmt::format("{}", v);
    }
    case ClockId: {
        static const char* names[] = {"CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
                                      "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME"};
        return v < 8 ? names[v] : fmt::format("{}", static_cast<int>(v));
    }
    }
    return fmt::format("{:#x}", v);
}

}  // namespace

std::string FormatSyscall(kernel::Task& task, uint64_t nr, const SyscallArgs& args, int64_t result, bool returns) {
    const SyscallEntry* entry = Lookup(nr);
    std::string line;
    if (task.tid() != 1)
        line = fmt::format("[pid {}] ", task.tid());
    line += entry ? entry->name : fmt::format("syscall_{:#x}", nr);
    line += '(';
    const Signature* sig = FindSignature(nr);
    if (sig) {
        size_t i = 0;
        for (Arg kind : sig->args) {
            if (i)
                line += ", ";
            line += FormatArg(task, kind, args[i], args, i, result);
            ++i;
        }
    } else {
        for (size_t i = 0; i < 3; ++i) {
            if (i)
                line += ", ";
            line += fmt::format("{:#x}", args[i]);
        }
    }
    line += ')';
    if (!returns)
        return line + " = ?";
    if (result < 0 && result >= -4095) {
        int err = static_cast<int>(-result);
        const char* name = strerrorname_np(err);
        line += fmt::format(" = -1 {} ({})", name ? name : fmt::format("E{}", err), strerror(err));
    } else if (sig && sig->ret == Ret::Hex) {
        line += fmt::format(" = {:#x}", static_cast<uint64_t>(result));
    } else {
        line += fmt::format(" = {}", result);
    }
    return line;
}

}  // namespace moat::syscalls
