#pragma once
// Pipes: a bounded byte buffer with a read end and a write end (pipe(2), pipe2(2)).
// Linux semantics: 64 KiB capacity, writes of at most PIPE_BUF bytes are atomic, EOF when
// the last writer closes, EPIPE when the last reader has closed (the syscall layer adds
// SIGPIPE), O_NONBLOCK gives EAGAIN.
//
// Lock order: Pipe::m_read_lock → Pipe::m_lock → WaitQueue. Copies to and from the app happen
// outside m_lock; a reader holds m_read_lock (never while waiting) from taking its bytes' copy
// to removing them, so the bytes at the front stay its own while it copies them out.
//
// A copy that faults part-way counts in pipe buffers (pages), as on Linux: a page the copy
// reached only in part is neither taken (read) nor queued (write); EFAULT when that leaves
// nothing.
// Blocking is interruptible (Task::Block: ERESTARTSYS, or a partial count); without a
// current task (unit tests) it waits on a plain condition variable.

#include "fs/file.h"
#include "sentry/kernel/wait_queue.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace moat::fs {

class Pipe {
public:
    static constexpr size_t kCapacity = 65536;
    static constexpr size_t kPipeBuf = 4096;
    // Linux keeps a pipe's bytes in page-sized buffers; a fault part-way through one loses it
    // whole (see the top of this file).
    static constexpr size_t kBufferSize = 4096;

    explicit Pipe(uint64_t ino) : m_ino(ino) {}
    // The two open file descriptions; `flags` is pipe2's (O_NONBLOCK, O_DIRECT; O_CLOEXEC is
    // the fd table's).
    static std::pair<std::shared_ptr<File>, std::shared_ptr<File>> Create(uint64_t ino, int flags);

    Result<size_t> Read(IoDst& dst, bool nonblock);
    Result<size_t> Write(IoSrc& src, bool nonblock);
    // tee(2): like Read (waits the same way) but the bytes stay in the pipe.
    Result<size_t> Peek(IoDst& dst, bool nonblock);
    size_t bytes_available();
    // Bytes a write could add now without waiting.
    size_t free_space();
    // poll(2) of an end: Linux's pipe_poll (POLLHUP for a reader once no writer is left,
    // POLLERR for a writer once no reader is left).
    uint32_t Readiness(bool reader, bool writer);
    const std::shared_ptr<kernel::EventQueue>& events() const { return m_events; }
    void AddEnd(bool writer);
    void CloseEnd(bool writer);
    // Opening a FIFO: waits until the other side has an end open, or has opened one since the
    // call began (Linux's r_counter/w_counter: a peer that came and went still counts).
    // ERESTARTSYS on a signal.
    Result<void> WaitForPeer(bool peer_is_writer);
    bool has_readers();
    uint64_t ino() const { return m_ino; }

private:
    // Waits (with `lock` on m_lock held on entry and return) until `cond()` — evaluated with
    // m_lock held — may have changed; ERESTARTSYS when the task must handle a signal.
    Result<void> Wait(std::unique_lock<std::mutex>& lock, const std::function<bool()>& cond);
    // Until there are bytes (true) or no writer is left (false, end of file); EAGAIN when
    // `nonblock`, ERESTARTSYS on a signal. `lock` holds m_lock.
    Result<bool> WaitForData(std::unique_lock<std::mutex>& lock, bool nonblock);
    // With m_lock held; `events` are the POLL* bits that may have become ready (0: any).
    void NotifyAll(uint32_t events = 0);

    const uint64_t m_ino;
    std::mutex m_read_lock;  // one reader at a time between peeking and removing its bytes
    std::mutex m_lock;
    std::condition_variable m_cv;
    kernel::WaitQueue m_waiters;
    const std::shared_ptr<kernel::EventQueue> m_events = std::make_shared<kernel::EventQueue>();
    std::deque<uint8_t> m_data;  // guarded by m_lock
    int m_readers = 0;           // guarded by m_lock
    int m_writers = 0;           // guarded by m_lock
    uint64_t m_reader_opens = 0;  // guarded by m_lock
    uint64_t m_writer_opens = 0;  // guarded by m_lock
};

class PipeFile final : public File {
public:
    // An end of an anonymous pipe: the reader or the writer.
    PipeFile(std::shared_ptr<Pipe> pipe, int status_flags, bool writer);
    // An open of a FIFO at `path` (or a reopen through /proc): its access mode says which ends
    // it holds — O_RDWR holds both, as on Linux.
    PipeFile(std::shared_ptr<Pipe> pipe, int status_flags, std::optional<VfsPath> path);
    ~PipeFile() override;
    Result<InodeAttr> Stat() override;
    Result<size_t> Read(IoDst& dst) override;
    Result<size_t> Write(IoSrc& src) override;
    Result<int64_t> BytesReadable() override;
    // splice/tee/vmsplice move data through the pipe itself.
    Pipe& pipe() { return *m_pipe; }
    bool is_writer() const { return m_writer; }
    uint32_t Readiness(uint32_t interest) override;
    std::shared_ptr<kernel::EventQueue> event_queue() override { return m_pipe->events(); }
    std::string anon_name() const override { return "pipe:[" + std::to_string(m_pipe->ino()) + "]"; }
    // /proc/[pid]/fd/N of a pipe opens the same pipe, as opening a FIFO would.
    Result<std::shared_ptr<File>> Reopen(const FsCaller& caller, int flags) override;

private:
    std::shared_ptr<Pipe> m_pipe;
    const bool m_reader;
    const bool m_writer;
};

}  // namespace moat::fs
