#include "fs/pipe/pipe.h"

#include "sentry/kernel/task.h"

#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

namespace moat::fs {

std::pair<std::shared_ptr<File>, std::shared_ptr<File>> Pipe::Create(uint64_t ino, int flags) {
    auto pipe = std::make_shared<Pipe>(ino);
    int status = flags & (O_NONBLOCK | O_DIRECT);
    auto reader = std::make_shared<PipeFile>(pipe, O_RDONLY | status, false);
    auto writer = std::make_shared<PipeFile>(pipe, O_WRONLY | status, true);
    return {reader, writer};
}

void Pipe::AddEnd(bool writer) {
    std::lock_guard lock(m_lock);
    ++(writer ? m_writers : m_readers);
    ++(writer ? m_writer_opens : m_reader_opens);
    NotifyAll();
}

bool Pipe::has_readers() {
    std::lock_guard lock(m_lock);
    return m_readers > 0;
}

Result<void> Pipe::WaitForPeer(bool peer_is_writer) {
    std::unique_lock lock(m_lock);
    int& ends = peer_is_writer ? m_writers : m_readers;
    uint64_t& opens = peer_is_writer ? m_writer_opens : m_reader_opens;
    const uint64_t start = opens;
    while (ends == 0 && opens == start)
        TRY(Wait(lock, [&] { return ends > 0 || opens != start; }));
    return {};
}

void Pipe::CloseEnd(bool writer) {
    std::lock_guard lock(m_lock);
    --(writer ? m_writers : m_readers);
    NotifyAll();
}

size_t Pipe::bytes_available() {
    std::lock_guard lock(m_lock);
    return m_data.size();
}

size_t Pipe::free_space() {
    std::lock_guard lock(m_lock);
    return kCapacity - m_data.size();
}

void Pipe::NotifyAll(uint32_t events) {
    m_cv.notify_all();
    m_waiters.Notify();
    m_events->Notify(events);
}

uint32_t Pipe::Readiness(bool reader, bool writer) {
    std::lock_guard lock(m_lock);
    uint32_t mask = 0;
    if (reader) {
        if (!m_data.empty())
            mask |= POLLIN | POLLRDNORM;
        if (m_writers == 0)
            mask |= POLLHUP;
    }
    if (writer) {
        // Linux reports a pipe writable while a buffer slot (a page) is free.
        if (kCapacity - m_data.size() >= kPipeBuf)
            mask |= POLLOUT | POLLWRNORM;
        if (m_readers == 0)
            mask |= POLLERR;
    }
    return mask;
}

Result<void> Pipe::Wait(std::unique_lock<std::mutex>& lock, const std::function<bool()>& cond) {
    kernel::Task* task = kernel::Task::Current();
    if (!task) {
        m_cv.wait(lock);
        return {};
    }
    lock.unlock();
    auto r = task->Block(m_waiters, [&] {
        std::lock_guard g(m_lock);
        return cond();
    });
    lock.lock();
    return r;
}

Result<bool> Pipe::WaitForData(std::unique_lock<std::mutex>& lock, bool nonblock) {
    while (m_data.empty()) {
        if (m_writers == 0)
            return false;
        if (nonblock)
            return Error(EAGAIN);
        TRY(Wait(lock, [&] { return !m_data.empty() || m_writers == 0; }));
    }
    return true;
}

Result<size_t> Pipe::Read(IoDst& dst, bool nonblock) {
    size_t want = std::min(dst.remaining(), kCapacity);
    if (want == 0)
        return size_t{0};
    for (;;) {
        {
            std::unique_lock lock(m_lock);
            if (!TRY(WaitForData(lock, nonblock)))
                return size_t{0};
        }
        std::lock_guard reading(m_read_lock);
        std::vector<uint8_t> chunk;
        {
            std::lock_guard lock(m_lock);
            if (m_data.empty())
                continue;  // another reader took them between the wait and m_read_lock
            size_t n = std::min(want, m_data.size());
            chunk.assign(m_data.begin(), m_data.begin() + static_cast<ptrdiff_t>(n));
        }
        // Writers only append and other readers wait for m_read_lock: the front is still ours.
        auto put = dst.Put(chunk);
        size_t taken = put.ok() ? *put : 0;
        if (taken < chunk.size())
            taken -= taken % kBufferSize;  // the faulted page stays queued, as on Linux
        if (taken == 0)
            return Error(EFAULT);
        std::lock_guard lock(m_lock);
        m_data.erase(m_data.begin(), m_data.begin() + static_cast<ptrdiff_t>(taken));
        NotifyAll(POLLOUT | POLLWRNORM);
        return taken;
    }
}

Result<size_t> Pipe::Peek(IoDst& dst, bool nonblock) {
    size_t want = std::min(dst.remaining(), kCapacity);
    if (want == 0)
        return size_t{0};
    std::vector<uint8_t> chunk;
    {
        std::unique_lock lock(m_lock);
        if (!TRY(WaitForData(lock, nonblock)))
            return size_t{0};
        size_t n = std::min(want, m_data.size());
        chunk.assign(m_data.begin(), m_data.begin() + static_cast<ptrdiff_t>(n));
    }
    return dst.Put(chunk);
}

Result<size_t> Pipe::Write(IoSrc& src, bool nonblock) {
    size_t total = std::min(src.remaining(), kMaxRwCount);
    if (total == 0)
        return size_t{0};
    size_t done = 0;
    std::vector<uint8_t> chunk;
    while (done < total) {
        // Writes of at most PIPE_BUF bytes go in whole; larger ones may be split.
        size_t want = std::min(total - done, kCapacity);
        chunk.resize(want);
        auto took = src.Take(chunk);
        if (!took.ok())
            return done ? Result<size_t>(done) : took;
        size_t got = *took;
        bool const faulted = got < want;
        if (faulted) {
            got -= got % kBufferSize;  // the page the fault hit is not queued, as on Linux
            if (got == 0)
                return done ? Result<size_t>(done) : Error(EFAULT);
        }
        chunk.resize(got);
        size_t off = 0;
        std::unique_lock lock(m_lock);
        while (off < chunk.size()) {
            if (m_readers == 0)
                return done + off ? Result<size_t>(done + off) : Error(EPIPE);
            size_t room = kCapacity - m_data.size();
            bool atomic = total <= kPipeBuf;
            if (room == 0 || (atomic && room < chunk.size())) {
                if (nonblock)
                    return done + off ? Result<size_t>(done + off) : Error(EAGAIN);
                size_t need = atomic ? chunk.size() : 1;
                auto waited = Wait(lock, [&] { return m_readers == 0 || kCapacity - m_data.size() >= need; });
                if (!waited.ok())
                    return done + off ? Result<size_t>(done + off) : Error(waited.error());
                continue;
            }
            size_t n = std::min(room, chunk.size() - off);
            m_data.insert(m_data.end(), chunk.begin() + static_cast<ptrdiff_t>(off),
                          chunk.begin() + static_cast<ptrdiff_t>(off + n));
            off += n;
            NotifyAll(POLLIN | POLLRDNORM);
        }
        done += off;
        if (faulted)
            break;
    }
    return done;
}

PipeFile::PipeFile(std::shared_ptr<Pipe> pipe, int status_flags, bool writer)
    : File(status_flags), m_pipe(std::move(pipe)), m_reader(!writer), m_writer(writer) {
    m_pipe->AddEnd(m_writer);
}

PipeFile::PipeFile(std::shared_ptr<Pipe> pipe, int status_flags, std::optional<VfsPath> path)
    : File(status_flags, std::move(path)), m_pipe(std::move(pipe)),
      m_reader((status_flags & O_ACCMODE) != O_WRONLY), m_writer((status_flags & O_ACCMODE) != O_RDONLY) {
    if (m_reader)
        m_pipe->AddEnd(false);
    if (m_writer)
        m_pipe->AddEnd(true);
}

PipeFile::~PipeFile() {
    if (m_reader)
        m_pipe->CloseEnd(false);
    if (m_writer)
        m_pipe->CloseEnd(true);
}

Result<std::shared_ptr<File>> PipeFile::Reopen(const FsCaller&, int flags) {
    int status = flags & (O_ACCMODE | O_NONBLOCK | O_DIRECT);
    return std::shared_ptr<File>(std::make_shared<PipeFile>(m_pipe, status, std::nullopt));
}

Result<InodeAttr> PipeFile::Stat() {
    if (path())
        return File::Stat();  // a FIFO: its inode's attributes
    InodeAttr a;
    a.dev = 0xd;  // pipefs's anonymous device, as Linux reports it
    a.ino = m_pipe->ino();
    a.mode = S_IFIFO | 0600;
    a.nlink = 1;
    a.blksize = 4096;
    return a;
}

Result<size_t> PipeFile::Read(IoDst& dst) { return m_pipe->Read(dst, status_flags() & O_NONBLOCK); }
Result<size_t> PipeFile::Write(IoSrc& src) { return m_pipe->Write(src, status_flags() & O_NONBLOCK); }
Result<int64_t> PipeFile::BytesReadable() { return static_cast<int64_t>(m_pipe->bytes_available()); }

uint32_t PipeFile::Readiness(uint32_t) { return m_pipe->Readiness(readable(), writable()); }


}  // namespace moat::fs
