#pragma once
// IoDst / IoSrc: where a read puts bytes and where a write takes them from. A file never sees
// application addresses: the syscall layer wraps the app's buffer or iovec array in a
// UserIoDst/UserIoSrc (fs/user_io.h), the sentry wraps its own memory in a BufferDst/BufferSrc.
// Files move data in bounded chunks (kIoChunk) through a sentry buffer, never sized by what
// the app asked for.

#include "platform/base/result.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace moat::fs {

// Linux's MAX_RW_COUNT: one read/write moves at most this much.
inline constexpr size_t kMaxRwCount = 0x7ffff000;
// The sentry's bounce-buffer size.
inline constexpr size_t kIoChunk = 64 * 1024;

class IoDst {
public:
    virtual ~IoDst() = default;
    // Bytes the destination still wants.
    virtual size_t remaining() const = 0;
    // Copies `src` (at most remaining() bytes) to the destination. Returns the bytes taken:
    // all of them, or fewer after a fault part-way; EFAULT if the very first byte faults.
    virtual Result<size_t> Put(std::span<const uint8_t> src) = 0;
};

class IoSrc {
public:
    virtual ~IoSrc() = default;
    virtual size_t remaining() const = 0;
    // Fills `dst` (at most remaining() bytes); same fault rules as IoDst::Put.
    virtual Result<size_t> Take(std::span<uint8_t> dst) = 0;
};

class BufferDst final : public IoDst {
public:
    explicit BufferDst(std::span<uint8_t> buf) : m_buf(buf) {}
    size_t remaining() const override { return m_buf.size() - m_done; }
    Result<size_t> Put(std::span<const uint8_t> src) override;
    size_t done() const { return m_done; }

private:
    std::span<uint8_t> m_buf;
    size_t m_done = 0;
};

class BufferSrc final : public IoSrc {
public:
    explicit BufferSrc(std::span<const uint8_t> buf) : m_buf(buf) {}
    size_t remaining() const override { return m_buf.size() - m_done; }
    Result<size_t> Take(std::span<uint8_t> dst) override;

private:
    std::span<const uint8_t> m_buf;
    size_t m_done = 0;
};

// At most `limit` bytes of another source (a write cut short by a seal, a splice of `len`).
class LimitedSrc final : public IoSrc {
public:
    LimitedSrc(IoSrc& src, size_t limit) : m_src(src), m_limit(limit) {}
    size_t remaining() const override { return m_src.remaining() < m_limit ? m_src.remaining() : m_limit; }
    Result<size_t> Take(std::span<uint8_t> dst) override {
        if (dst.size() > remaining())
            dst = dst.first(remaining());
        size_t n = TRY(m_src.Take(dst));
        m_limit -= n;
        return n;
    }

private:
    IoSrc& m_src;
    size_t m_limit;
};

// Reads through `read_chunk(buf, offset)` (a host pread, a page-cache copy…) into `dst` until
// dst is full, the source hits end of file (a short chunk) or dst faults. Returns the bytes
// delivered; the first error only if nothing was delivered.
template <typename ReadChunk>
Result<size_t> ChunkedRead(IoDst& dst, uint64_t offset, ReadChunk&& read_chunk);

}  // namespace moat::fs

#include <memory>

namespace moat::fs {

template <typename ReadChunk>
Result<size_t> ChunkedRead(IoDst& dst, uint64_t offset, ReadChunk&& read_chunk) {
    size_t total = 0;
    size_t want = dst.remaining();
    if (want == 0)
        return size_t{0};
    size_t buf_size = want < kIoChunk ? want : kIoChunk;
    std::unique_ptr<uint8_t[]> buf(new (std::nothrow) uint8_t[buf_size]);
    if (!buf)
        return Error(ENOMEM);
    while (dst.remaining() > 0) {
        size_t n = dst.remaining() < buf_size ? dst.remaining() : buf_size;
        Result<size_t> got = read_chunk(std::span<uint8_t>(buf.get(), n), offset + total);
        if (!got.ok()) {
            if (total > 0)
                break;
            return Error(got.error());
        }
        if (*got == 0)
            break;
        Result<size_t> put = dst.Put(std::span<const uint8_t>(buf.get(), *got));
        if (!put.ok()) {
            if (total > 0)
                break;
            return Error(put.error());
        }
        total += *put;
        if (*put < *got || *got < n)
            break;
    }
    return total;
}

}  // namespace moat::fs
