#include "fs/dev/char_devices.h"

#include "fs/devpts/filesystem.h"
#include "fs/host/stdio_file.h"
#include "fs/tty/pty_file.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <sys/sysmacros.h>

#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <cstring>

namespace moat::fs {

namespace {

// A device with no position: reads and writes at any offset are the same (Linux's
// noop_llseek/no-op positions: lseek always succeeds and reports 0).
class CharDeviceFile : public File {
public:
    using File::File;
    Result<size_t> Read(IoDst& dst) override { return PRead(dst, 0); }
    Result<size_t> Write(IoSrc& src) override { return PWrite(src, 0); }
    Result<int64_t> Seek(int64_t, int) override { return 0; }
    bool seekable() const override { return true; }
};

// Delivers `dst.remaining()` bytes produced by `fill` in bounded chunks.
template <typename Fill>
Result<size_t> Produce(IoDst& dst, Fill fill) {
    std::array<uint8_t, 4096> buf;
    size_t total = 0;
    while (dst.remaining() > 0) {
        size_t n = std::min(buf.size(), dst.remaining());
        fill(buf.data(), n);
        auto put = dst.Put(std::span<const uint8_t>(buf.data(), n));
        if (!put.ok())
            return total ? Result<size_t>(total) : put;
        total += *put;
        if (*put < n || total >= kMaxRwCount)
            break;
    }
    return total;
}

// Consumes the whole source (bounded by MAX_RW_COUNT): what writes to null/zero/random do.
Result<size_t> Discard(IoSrc& src) {
    std::array<uint8_t, 4096> buf;
    size_t total = 0;
    while (src.remaining() > 0 && total < kMaxRwCount) {
        size_t n = std::min(buf.size(), src.remaining());
        auto got = src.Take(std::span<uint8_t>(buf.data(), n));
        if (!got.ok())
            return total ? Result<size_t>(total) : got;
        total += *got;
        if (*got < n)
            break;
    }
    return total;
}

class NullFile final : public CharDeviceFile {
public:
    using CharDeviceFile::CharDeviceFile;
    Result<size_t> PRead(IoDst&, uint64_t) override { return 0; }
    Result<size_t> PWrite(IoSrc& src, uint64_t) override {
        // Linux's write_null reports the whole count without touching the buffer.
        size_t n = std::min(src.remaining(), kMaxRwCount);
        return n;
    }
};

class ZeroFile final : public CharDeviceFile {
public:
    using CharDeviceFile::CharDeviceFile;
    Result<size_t> PRead(IoDst& dst, uint64_t) override {
        return Produce(dst, [](uint8_t* p, size_t n) { memset(p, 0, n); });
    }
    Result<size_t> PWrite(IoSrc& src, uint64_t) override {
        size_t n = std::min(src.remaining(), kMaxRwCount);
        return n;
    }
};

class FullFile final : public CharDeviceFile {
public:
    using CharDeviceFile::CharDeviceFile;
    Result<size_t> PRead(IoDst& dst, uint64_t) override {
        return Produce(dst, [](uint8_t* p, size_t n) { memset(p, 0, n); });
    }
    Result<size_t> PWrite(IoSrc&, uint64_t) override { return Error(ENOSPC); }
};

class RandomFile final : public CharDeviceFile {
public:
    using CharDeviceFile::CharDeviceFile;
    Result<size_t> PRead(IoDst& dst, uint64_t) override {
        // The sentry's own CSPRNG (the host's getrandom); always initialised, never blocks.
        return Produce(dst, [](uint8_t* p, size_t n) {
            size_t got = 0;
            while (got < n) {
                ssize_t r = ::getrandom(p + got, n - got, 0);
                if (r > 0)
                    got += static_cast<size_t>(r);
            }
        });
    }
    // Writing mixes bytes into the pool on Linux; the sandbox cannot affect the host's pool.
    Result<size_t> PWrite(IoSrc& src, uint64_t) override { return Discard(src); }
};

}  // namespace

Devices::Devices(UniqueFd console, std::shared_ptr<DevptsFileSystem> devpts)
    : m_console(std::move(console)), m_devpts(std::move(devpts)) {}

Devices::~Devices() = default;

Result<std::shared_ptr<File>> Devices::OpenChar(const FsCaller& caller, uint64_t rdev, int open_flags,
                                                const VfsPath& path) const {
    const int flags = StatusFlagsOf(open_flags);
    switch (rdev) {
    case kDevNull: return std::shared_ptr<File>(std::make_shared<NullFile>(flags, path));
    case kDevZero: return std::shared_ptr<File>(std::make_shared<ZeroFile>(flags, path));
    case kDevFull: return std::shared_ptr<File>(std::make_shared<FullFile>(flags, path));
    case kDevRandom:
    case kDevUrandom: return std::shared_ptr<File>(std::make_shared<RandomFile>(flags, path));
    case kDevTty: return OpenTty(caller, open_flags, path);
    case kDevConsole: {
        if (!m_console.valid())
            return Error(ENXIO);  // no controlling terminal
        int fd = dup(m_console.get());
        if (fd < 0)
            return Error(errno);
        return std::shared_ptr<File>(std::make_shared<TtyFile>(flags, UniqueFd(fd), path));
    }
    case kDevPtmx:
        if (!m_devpts)
            return Error(ENXIO);
        return m_devpts->OpenMaster(caller, open_flags, path);
    default:
        if (major(rdev) == kPtySlaveMajor && m_devpts)
            return m_devpts->OpenSlave(caller, minor(rdev), open_flags, path);
        return Error(ENXIO);
    }
}

Result<std::shared_ptr<File>> Devices::OpenTty(const FsCaller& caller, int open_flags, const VfsPath& path) const {
    if (caller.task) {
        kernel::ThreadGroup& tg = caller.task->thread_group();
        if (auto pty = std::dynamic_pointer_cast<Pty>(tg.controlling_tty()))
            return PtySlaveFile::Open(std::move(pty), caller, open_flags | O_NOCTTY, &path);
        // Only the initial session has the host terminal; a new session has none until it
        // opens one.
        if (tg.sid() != 1)
            return Error(ENXIO);
    }
    if (!m_console.valid())
        return Error(ENXIO);
    int fd = dup(m_console.get());
    if (fd < 0)
        return Error(errno);
    return std::shared_ptr<File>(std::make_shared<TtyFile>(StatusFlagsOf(open_flags), UniqueFd(fd), path));
}

}  // namespace moat::fs
