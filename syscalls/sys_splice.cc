// Moving data between files without the app's buffers: sendfile, splice, tee, vmsplice and
// copy_file_range. Everything is copied through one bounded sentry buffer (fs::kIoChunk) with
// the files' own Read/PRead/Write/PWrite; nothing is zero-copy, which only Linux's speed, not
// its results, depends on.

#include "fs/file.h"
#include "fs/pipe/pipe.h"
#include "fs/task_fs.h"
#include "fs/user_io.h"
#include "sentry/kernel/signals.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_manager.h"
#include "syscalls/handlers.h"

#include <fcntl.h>

#include <csignal>
#include <memory>
#include <optional>
#include <vector>

namespace moat::syscalls {

namespace {

constexpr unsigned kSpliceMove = 1, kSpliceNonblock = 2, kSpliceMore = 4, kSpliceGift = 8;
constexpr unsigned kSpliceAll = kSpliceMove | kSpliceNonblock | kSpliceMore | kSpliceGift;

fs::PipeFile* PipeOf(fs::File& file) { return dynamic_cast<fs::PipeFile*>(&file); }

// One side of a transfer: a pipe (read or written in place), a file at an explicit position
// (an offset argument, or the file offset of a seekable file, written back at the end), or a
// stream at its own offset.
struct End {
    explicit End(std::shared_ptr<fs::File> f, fs::Pipe* p = nullptr, std::optional<int64_t> at = std::nullopt,
                 bool nb = false)
        : file(std::move(f)), pipe(p), pos(at), nonblock(nb) {}
    std::shared_ptr<fs::File> file;
    fs::Pipe* pipe = nullptr;
    std::optional<int64_t> pos;
    bool nonblock = false;
};

Result<size_t> ReadInto(End& e, std::span<uint8_t> buf) {
    fs::BufferDst dst(buf);
    if (e.pipe)
        return e.pipe->Read(dst, e.nonblock);
    if (e.pos) {
        size_t n = TRY(e.file->PRead(dst, static_cast<uint64_t>(*e.pos)));
        *e.pos += static_cast<int64_t>(n);
        return n;
    }
    return e.file->Read(dst);
}

Result<size_t> WriteFrom(kernel::Task& task, End& e, std::span<const uint8_t> buf) {
    fs::BufferSrc src(buf);
    Result<size_t> r = size_t{0};
    if (e.pipe) {
        r = e.pipe->Write(src, e.nonblock);
    } else if (e.pos) {
        r = e.file->PWrite(src, static_cast<uint64_t>(*e.pos));
        if (r.ok())
            *e.pos += static_cast<int64_t>(*r);
    } else {
        r = e.file->Write(src);
    }
    if (!r.ok() && r.error() == EPIPE)
        kernel::SendSignalToGroup(task, SIGPIPE);
    return r;
}

// Moves up to `len` bytes from `in` to `out`. Like Linux, a pipe source stops the transfer
// once it is drained and a pipe destination once it is full, after the first bytes moved.
Result<size_t> Pump(kernel::Task& task, End& in, End& out, size_t len) {
    len = std::min(len, fs::kMaxRwCount);
    std::vector<uint8_t> buf(std::min(len, fs::kIoChunk));
    size_t done = 0;
    while (done < len) {
        size_t want = std::min(len - done, buf.size());
        if (out.pipe) {
            size_t room = out.pipe->free_space();
            if (room == 0 && done > 0)
                break;
            if (room == 0 && out.nonblock)
                return Error(EAGAIN);
            want = std::min(want, room == 0 ? fs::Pipe::kPipeBuf : room);
        }
        auto got = ReadInto(in, std::span(buf.data(), want));
        if (!got.ok()) {
            if (done > 0 && (got.error() == EAGAIN || got.error() == ERESTARTSYS))
                break;
            return done ? Result<size_t>(done) : Error(got.error());
        }
        if (*got == 0)
            break;
        auto put = WriteFrom(task, out, std::span<const uint8_t>(buf.data(), *got));
        if (!put.ok())
            return done ? Result<size_t>(done) : Error(put.error());
        done += *put;
        if (*put < *got || (!in.pipe && *got < want))
            break;
        if (in.pipe)
            in.nonblock = true;  // after the first bytes, take only what is there
    }
    return done;
}

// The file's offset as the starting position of a seekable file without an offset argument.
Result<void> UseFileOffset(End& e) {
    if (!e.pipe && e.file->seekable() && !e.pos)
        e.pos = TRY(e.file->Seek(0, SEEK_CUR));
    return {};
}

// Reads an loff_t argument; EINVAL if negative.
Result<int64_t> CopyInOffset(kernel::Task& task, mm::UserAddr addr) {
    int64_t off = 0;
    TRY(task.mm().CopyIn(addr, &off, sizeof(off)));
    return off;
}

// rw_verify_area: pos + count must not overflow loff_t and pos must not be negative.
Result<void> VerifyArea(int64_t pos, uint64_t count) {
    if (pos < 0 || count > static_cast<uint64_t>(INT64_MAX - pos))
        return Error(EINVAL);
    return {};
}

// Writes the end positions back: to the offset argument, or the file offset.
Result<void> FinishEnd(kernel::Task& task, End& e, mm::UserAddr off_arg, std::optional<int64_t> start) {
    if (!e.pos || e.pipe)
        return {};
    if (!off_arg.is_null())
        return task.mm().CopyOut(off_arg, &*e.pos, sizeof(int64_t));
    if (*e.pos != start)
        TRY(e.file->Seek(*e.pos, SEEK_SET));
    return {};
}

Result<std::shared_ptr<fs::File>> Readable(kernel::Task& task, int fd) {
    auto file = TRY(fs::GetFile(task, fd));
    if (!file->readable())
        return Error(EBADF);
    return file;
}

Result<std::shared_ptr<fs::File>> Writable(kernel::Task& task, int fd) {
    auto file = TRY(fs::GetFile(task, fd));
    if (!file->writable())
        return Error(EBADF);
    return file;
}

bool IsNonblock(const fs::File& f) { return (f.status_flags() & O_NONBLOCK) != 0; }

}  // namespace

// Implements Linux sendfile(2). Differs: any readable file but a pipe or a directory may be the
// source (Linux needs splice_read, which its regular files, devices and sockets have).
SyscallResult sys_sendfile(kernel::Task& task, const SyscallArgs& args) {
    mm::UserAddr off_arg = arg_addr(args, 2);
    uint64_t count = args[3];
    End in(TRY(Readable(task, arg_int(args, 1))));
    if (!off_arg.is_null()) {
        if (!in.file->seekable())
            return Error(ESPIPE);
        in.pos = TRY(CopyInOffset(task, off_arg));
    }
    TRY(UseFileOffset(in));
    std::optional<int64_t> in_start = in.pos;
    if (in.pos)
        TRY(VerifyArea(*in.pos, count));
    End out(TRY(Writable(task, arg_int(args, 0))));
    if (PipeOf(*in.file) || in.file->is_directory())
        return Error(EINVAL);
    if (auto* p = PipeOf(*out.file)) {
        out.pipe = &p->pipe();
        out.nonblock = IsNonblock(*out.file);
    } else if (out.file->status_flags() & O_APPEND) {
        return Error(EINVAL);
    } else {
        TRY(UseFileOffset(out));
    }
    std::optional<int64_t> out_start = out.pos;
    if (count == 0)
        return 0;
    auto moved = Pump(task, in, out, count);
    TRY(FinishEnd(task, in, off_arg, in_start));
    TRY(FinishEnd(task, out, mm::UserAddr(0), out_start));
    return TRY(std::move(moved));
}

// Implements Linux splice(2): one side (at least) is a pipe.
SyscallResult sys_splice(kernel::Task& task, const SyscallArgs& args) {
    mm::UserAddr off_in = arg_addr(args, 1), off_out = arg_addr(args, 3);
    uint64_t len = args[4];
    unsigned flags = arg_uint(args, 5);
    if (len == 0)
        return 0;
    if (flags & ~kSpliceAll)
        return Error(EINVAL);
    End in(TRY(fs::GetFile(task, arg_int(args, 0))));
    End out(TRY(fs::GetFile(task, arg_int(args, 2))));
    auto* ipipe = PipeOf(*in.file);
    auto* opipe = PipeOf(*out.file);
    if ((ipipe && !off_in.is_null()) || (opipe && !off_out.is_null()))
        return Error(ESPIPE);
    if (!off_out.is_null())
        out.pos = TRY(CopyInOffset(task, off_out));
    if (!off_in.is_null())
        in.pos = TRY(CopyInOffset(task, off_in));
    if (!in.file->readable() || !out.file->writable())
        return Error(EBADF);
    bool nonblock = (flags & kSpliceNonblock) != 0;
    if (ipipe && opipe) {
        if (&ipipe->pipe() == &opipe->pipe())
            return Error(EINVAL);
        nonblock = nonblock || IsNonblock(*in.file) || IsNonblock(*out.file);
    } else if (ipipe) {
        if (out.pos && !out.file->seekable())
            return Error(EINVAL);
        if (out.file->status_flags() & O_APPEND)
            return Error(EINVAL);
        TRY(UseFileOffset(out));
        if (out.pos)
            TRY(VerifyArea(*out.pos, len));
        nonblock = nonblock || IsNonblock(*in.file);
    } else if (opipe) {
        if (in.pos && !in.file->seekable())
            return Error(EINVAL);
        TRY(UseFileOffset(in));
        if (in.pos)
            TRY(VerifyArea(*in.pos, len));
        nonblock = nonblock || IsNonblock(*out.file);
    } else {
        return Error(EINVAL);
    }
    if (ipipe)
        in.pipe = &ipipe->pipe();
    if (opipe)
        out.pipe = &opipe->pipe();
    in.nonblock = out.nonblock = nonblock;
    std::optional<int64_t> in_start = in.pos, out_start = out.pos;
    auto moved = Pump(task, in, out, len);
    TRY(FinishEnd(task, in, off_in, in_start));
    TRY(FinishEnd(task, out, off_out, out_start));
    return TRY(std::move(moved));
}

// Implements Linux tee(2): copies bytes from one pipe to another without consuming them.
SyscallResult sys_tee(kernel::Task& task, const SyscallArgs& args) {
    uint64_t len = args[2];
    unsigned flags = arg_uint(args, 3);
    if (flags & ~kSpliceAll)
        return Error(EINVAL);
    if (len == 0)
        return 0;
    auto in = TRY(fs::GetFile(task, arg_int(args, 0)));
    auto out = TRY(fs::GetFile(task, arg_int(args, 1)));
    if (!in->readable() || !out->writable())
        return Error(EBADF);
    auto* ipipe = PipeOf(*in);
    auto* opipe = PipeOf(*out);
    if (!ipipe || !opipe || &ipipe->pipe() == &opipe->pipe())
        return Error(EINVAL);
    bool nonblock = (flags & kSpliceNonblock) || IsNonblock(*in) || IsNonblock(*out);
    size_t room = opipe->pipe().free_space();
    if (room == 0 && nonblock)
        return Error(EAGAIN);
    std::vector<uint8_t> buf(std::min<uint64_t>(len, room ? room : fs::Pipe::kPipeBuf));
    fs::BufferDst dst(buf);
    size_t got = TRY(ipipe->pipe().Peek(dst, nonblock));
    if (got == 0)
        return 0;
    End out_end(out, &opipe->pipe(), std::nullopt, nonblock);
    return TRY(WriteFrom(task, out_end, std::span<const uint8_t>(buf.data(), got)));
}

// Implements Linux vmsplice(2): the app's memory into a pipe's write end, or out of its read
// end. Differs: the pages are copied, never gifted or mapped (SPLICE_F_GIFT is ignored).
SyscallResult sys_vmsplice(kernel::Task& task, const SyscallArgs& args) {
    unsigned flags = arg_uint(args, 3);
    if (flags & ~kSpliceAll)
        return Error(EINVAL);
    auto file = TRY(fs::GetFile(task, arg_int(args, 0)));
    bool to_pipe = file->writable();
    if (!to_pipe && !file->readable())
        return Error(EBADF);
    auto segs = TRY(fs::ImportIovecs(task.mm(), arg_addr(args, 1), args[2]));
    uint64_t total = 0;
    for (auto& s : segs)
        total += s.len;
    if (total == 0)
        return 0;
    auto* pipe = PipeOf(*file);
    if (!pipe)
        return Error(EBADF);
    bool nonblock = (flags & kSpliceNonblock) || IsNonblock(*file);
    if (to_pipe) {
        fs::UserIoSrc src(task.mm(), std::move(segs));
        auto r = pipe->pipe().Write(src, nonblock);
        if (!r.ok() && r.error() == EPIPE)
            kernel::SendSignalToGroup(task, SIGPIPE);
        return TRY(std::move(r));
    }
    fs::UserIoDst dst(task.mm(), std::move(segs));
    return TRY(pipe->pipe().Read(dst, nonblock));
}

// Implements Linux copy_file_range(2) between regular files. Differs: files on different
// filesystems are copied too (Linux ≥ 5.19 gives EXDEV unless both share a copy_file_range
// implementation; the copy here is generic).
SyscallResult sys_copy_file_range(kernel::Task& task, const SyscallArgs& args) {
    mm::UserAddr off_in = arg_addr(args, 1), off_out = arg_addr(args, 3);
    uint64_t len = args[4];
    End in(TRY(fs::GetFile(task, arg_int(args, 0))));
    End out(TRY(fs::GetFile(task, arg_int(args, 2))));
    if (!off_in.is_null())
        in.pos = TRY(CopyInOffset(task, off_in));
    if (!off_out.is_null())
        out.pos = TRY(CopyInOffset(task, off_out));
    if (arg_uint(args, 5) != 0)
        return Error(EINVAL);
    // generic_copy_file_checks, in its order.
    fs::Inode* iin = in.file->inode();
    fs::Inode* iout = out.file->inode();
    if ((iin && iin->is_dir()) || (iout && iout->is_dir()))
        return Error(EISDIR);
    if (!iin || !iout || !iin->is_regular() || !iout->is_regular())
        return Error(EINVAL);
    if (!in.file->readable() || !out.file->writable() || (out.file->status_flags() & O_APPEND))
        return Error(EBADF);
    TRY(UseFileOffset(in));
    TRY(UseFileOffset(out));
    std::optional<int64_t> in_start = in.pos, out_start = out.pos;
    auto pin = static_cast<uint64_t>(*in.pos), pout = static_cast<uint64_t>(*out.pos);
    if (pin + len < pin || pout + len < pout)
        return Error(EOVERFLOW);
    // Shorten the copy to the source's end of file.
    int64_t size_in = TRY(in.file->Stat()).size;
    uint64_t count = *in.pos >= size_in ? 0 : std::min<uint64_t>(len, static_cast<uint64_t>(size_in) - pin);
    if (iin == iout && pout + count > pin && pout < pin + count)
        return Error(EINVAL);
    TRY(VerifyArea(*in.pos, count));
    TRY(VerifyArea(*out.pos, count));
    if (count == 0)
        return 0;
    auto moved = Pump(task, in, out, count);
    TRY(FinishEnd(task, in, off_in, in_start));
    TRY(FinishEnd(task, out, off_out, out_start));
    return TRY(std::move(moved));
}

}  // namespace moat::syscalls
