#include "fs/procfuse/fuse_session.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

namespace moat::fs::procfuse {

// What Handle sends back: an error, or a payload after the header; `none` for no reply.
struct FuseSession::Reply {
    int error = 0;
    std::vector<uint8_t> payload;
    bool none = false;

    template <typename T>
    void Set(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        payload.resize(sizeof(T));
        std::memcpy(payload.data(), &value, sizeof(T));
    }
    void Fail(int err) {
        error = err;
        payload.clear();
    }
};

namespace {

// The leading `sizeof(T)` bytes of `body` as a T, or false when the body is shorter (copied:
// the request buffer promises no alignment).
template <typename T>
bool Parse(std::span<const uint8_t> body, T* out) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (body.size() < sizeof(T))
        return false;
    std::memcpy(out, body.data(), sizeof(T));
    return true;
}

// The fields of fuse_init_in every kernel since 7.6 sends (later ones append flags2…).
struct InitInCommon {
    uint32_t major, minor, max_readahead, flags;
};

// Only directories, regular files and symlinks are passed on; no set-id or sticky bits.
bool ToFuseAttr(const InodeAttr& a, uint64_t nodeid, fuse_attr* out) {
    uint32_t type = a.mode & S_IFMT;
    if (type != S_IFDIR && type != S_IFREG && type != S_IFLNK)
        return false;
    *out = {};
    out->ino = a.ino ? a.ino : nodeid;
    out->size = a.size > 0 ? static_cast<uint64_t>(a.size) : 0;
    out->blocks = a.blocks > 0 ? static_cast<uint64_t>(a.blocks) : 0;
    out->atime = a.atime.tv_sec;
    out->mtime = a.mtime.tv_sec;
    out->ctime = a.ctime.tv_sec;
    out->atimensec = static_cast<uint32_t>(a.atime.tv_nsec);
    out->mtimensec = static_cast<uint32_t>(a.mtime.tv_nsec);
    out->ctimensec = static_cast<uint32_t>(a.ctime.tv_nsec);
    out->mode = type | (a.mode & 0777);
    out->nlink = static_cast<uint32_t>(std::min<uint64_t>(a.nlink, UINT32_MAX));
    out->uid = a.uid;
    out->gid = a.gid;
    out->blksize = 4096;
    return true;
}

}  // namespace

bool IsPlainName(std::string_view name) {
    return !name.empty() && name.size() <= NAME_MAX && name != "." && name != ".." &&
           name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::vector<uint8_t> FuseSession::Handle(std::span<const uint8_t> request) {
    fuse_in_header in;
    if (!Parse(request, &in))
        return {};  // no unique to answer to
    Reply reply;
    if (in.len != request.size())
        reply.Fail(EIO);
    else if (!m_initialized && in.opcode != FUSE_INIT)
        reply.Fail(EIO);
    else
        Dispatch(in.opcode, in.nodeid, request.subspan(sizeof(in)), reply);
    if (reply.none)
        return {};
    fuse_out_header out{};
    out.len = static_cast<uint32_t>(sizeof(out) + reply.payload.size());
    out.error = -reply.error;
    out.unique = in.unique;
    std::vector<uint8_t> bytes(sizeof(out));
    std::memcpy(bytes.data(), &out, sizeof(out));
    bytes.insert(bytes.end(), reply.payload.begin(), reply.payload.end());
    return bytes;
}

void FuseSession::Dispatch(uint32_t opcode, uint64_t nodeid, std::span<const uint8_t> body, Reply& reply) {
    switch (opcode) {
    case FUSE_INIT: return Init(body, reply);
    case FUSE_LOOKUP: return Lookup(nodeid, body, reply);
    case FUSE_GETATTR: return GetAttr(nodeid, reply);
    case FUSE_FORGET: {
        reply.none = true;
        fuse_forget_in f;
        if (Parse(body, &f))
            Forget(nodeid, f.nlookup);
        return;
    }
    case FUSE_BATCH_FORGET: reply.none = true; return BatchForget(body);
    case FUSE_OPENDIR: return OpenDir(nodeid, reply);
    case FUSE_READDIR: return ReadDir(body, reply);
    case FUSE_RELEASEDIR: return Release(body, true, reply);
    case FUSE_OPEN: return Open(nodeid, body, reply);
    case FUSE_READ: return Read(body, reply);
    case FUSE_RELEASE: return Release(body, false, reply);
    case FUSE_READLINK: return ReadLink(nodeid, reply);
    case FUSE_ACCESS: return Access(nodeid, body, reply);
    case FUSE_STATFS: return StatFs(reply);
    // Every request is answered as soon as it arrives: there is nothing to interrupt.
    case FUSE_INTERRUPT: reply.none = true; return;
    case FUSE_DESTROY: m_destroyed = true; return;
    default: return reply.Fail(ENOSYS);
    }
}

void FuseSession::Init(std::span<const uint8_t> body, Reply& reply) {
    InitInCommon in;
    if (!Parse(body, &in))
        return reply.Fail(EINVAL);
    fuse_init_out out{};
    out.major = FUSE_KERNEL_VERSION;
    if (in.major > FUSE_KERNEL_VERSION) {
        // The kernel retries INIT with our major.
        reply.payload.resize(FUSE_COMPAT_INIT_OUT_SIZE);
        std::memcpy(reply.payload.data(), &out, FUSE_COMPAT_INIT_OUT_SIZE);
        return;
    }
    if (in.major < FUSE_KERNEL_VERSION || in.minor < 12)
        return reply.Fail(EPROTO);
    out.minor = std::min<uint32_t>(in.minor, FUSE_KERNEL_MINOR_VERSION);
    out.max_readahead = in.max_readahead;
    out.flags = 0;  // none of the optional features: no async reads, splice, writeback, readdirplus
    out.max_background = 1;
    out.congestion_threshold = 1;
    out.max_write = kMaxWrite;
    out.time_gran = 1;
    // Before 7.23 the reply ended after max_write.
    size_t size = out.minor < 23 ? FUSE_COMPAT_22_INIT_OUT_SIZE : sizeof(out);
    reply.payload.resize(size);
    std::memcpy(reply.payload.data(), &out, size);
    m_initialized = true;
    m_nodes[FUSE_ROOT_ID] = Node{"", 1};
}

const FuseSession::Node* FuseSession::FindNode(uint64_t nodeid) const {
    auto it = m_nodes.find(nodeid);
    return it == m_nodes.end() ? nullptr : &it->second;
}

void FuseSession::Lookup(uint64_t parent, std::span<const uint8_t> body, Reply& reply) {
    const Node* dir = FindNode(parent);
    if (!dir)
        return reply.Fail(ESTALE);
    // The name is NUL-terminated inside the body.
    auto nul = std::find(body.begin(), body.end(), uint8_t{0});
    if (nul == body.end())
        return reply.Fail(EINVAL);
    std::string_view name(reinterpret_cast<const char*>(body.data()), static_cast<size_t>(nul - body.begin()));
    if (!IsPlainName(name))
        return reply.Fail(name.size() > NAME_MAX ? ENAMETOOLONG : ENOENT);
    std::string path = dir->path.empty() ? std::string(name) : dir->path + "/" + std::string(name);
    if (path.size() >= PATH_MAX)
        return reply.Fail(ENAMETOOLONG);
    auto attr = m_source.Stat(path);
    if (!attr.ok())
        return reply.Fail(attr.error());
    fuse_entry_out out{};
    auto known = m_node_by_path.find(path);
    uint64_t nodeid = known != m_node_by_path.end() ? known->second : m_next_node;
    if (!ToFuseAttr(*attr, nodeid, &out.attr))
        return reply.Fail(ENOENT);
    if (known == m_node_by_path.end()) {
        if (m_nodes.size() >= kMaxNodes)
            return reply.Fail(ENOMEM);
        m_nodes[nodeid] = Node{path, 0};
        m_node_by_path[path] = nodeid;
        ++m_next_node;
    }
    ++m_nodes[nodeid].lookups;  // the kernel FORGETs each one it was given
    out.nodeid = nodeid;
    reply.Set(out);
}

void FuseSession::GetAttr(uint64_t nodeid, Reply& reply) {
    const Node* node = FindNode(nodeid);
    if (!node)
        return reply.Fail(ESTALE);
    auto attr = m_source.Stat(node->path);
    if (!attr.ok())
        return reply.Fail(attr.error());
    fuse_attr_out out{};
    if (!ToFuseAttr(*attr, nodeid, &out.attr))
        return reply.Fail(ENOENT);
    reply.Set(out);
}

void FuseSession::Forget(uint64_t nodeid, uint64_t count) {
    auto it = m_nodes.find(nodeid);
    if (it == m_nodes.end() || nodeid == FUSE_ROOT_ID)
        return;
    if (it->second.lookups > count) {
        it->second.lookups -= count;
        return;
    }
    m_node_by_path.erase(it->second.path);
    m_nodes.erase(it);
}

void FuseSession::BatchForget(std::span<const uint8_t> body) {
    fuse_batch_forget_in in;
    if (!Parse(body, &in))
        return;
    body = body.subspan(sizeof(in));
    // Only the entries that are really there (count is the kernel's word, the length is ours).
    size_t count = std::min<size_t>(in.count, body.size() / sizeof(fuse_forget_one));
    for (size_t i = 0; i < count; ++i) {
        fuse_forget_one one;
        std::memcpy(&one, body.data() + i * sizeof(one), sizeof(one));
        Forget(one.nodeid, one.nlookup);
    }
}

void FuseSession::OpenDir(uint64_t nodeid, Reply& reply) {
    const Node* node = FindNode(nodeid);
    if (!node)
        return reply.Fail(ESTALE);
    if (handle_count() >= kMaxHandles)
        return reply.Fail(ENFILE);
    auto entries = m_source.List(node->path, kMaxDirEntries);
    if (!entries.ok())
        return reply.Fail(entries.error());
    std::vector<DirEntry> kept;
    for (auto& e : *entries)
        if (IsPlainName(e.name) || e.name == "." || e.name == "..")
            kept.push_back(std::move(e));
    uint64_t fh = NewHandle();
    m_dirs[fh] = std::move(kept);
    fuse_open_out out{};
    out.fh = fh;
    reply.Set(out);
}

void FuseSession::ReadDir(std::span<const uint8_t> body, Reply& reply) {
    fuse_read_in in;
    if (!Parse(body, &in))
        return reply.Fail(EINVAL);
    auto it = m_dirs.find(in.fh);
    if (it == m_dirs.end())
        return reply.Fail(EBADF);
    const auto& entries = it->second;
    const size_t room = std::min<size_t>(in.size, kMaxReadReply);
    // The offset is the index of the next entry (the d_off this reply gives each one).
    for (uint64_t i = in.offset; i < entries.size(); ++i) {
        const DirEntry& e = entries[i];
        size_t record = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + e.name.size());
        if (reply.payload.size() + record > room)
            break;
        fuse_dirent d{};
        d.ino = e.ino ? e.ino : 1;
        d.off = i + 1;
        d.namelen = static_cast<uint32_t>(e.name.size());
        d.type = e.type;
        size_t at = reply.payload.size();
        reply.payload.resize(at + record, 0);
        std::memcpy(reply.payload.data() + at, &d, FUSE_NAME_OFFSET);
        std::memcpy(reply.payload.data() + at + FUSE_NAME_OFFSET, e.name.data(), e.name.size());
    }
}

void FuseSession::Open(uint64_t nodeid, std::span<const uint8_t> body, Reply& reply) {
    fuse_open_in in;
    if (!Parse(body, &in))
        return reply.Fail(EINVAL);
    const Node* node = FindNode(nodeid);
    if (!node)
        return reply.Fail(ESTALE);
    if ((in.flags & O_ACCMODE) != O_RDONLY || (in.flags & O_TRUNC))
        return reply.Fail(EROFS);
    if (handle_count() >= kMaxHandles)
        return reply.Fail(ENFILE);
    auto text = m_source.ReadAll(node->path, kMaxFileBytes);
    if (!text.ok())
        return reply.Fail(text.error());
    uint64_t fh = NewHandle();
    m_files[fh] = std::move(*text);
    fuse_open_out out{};
    out.fh = fh;
    // st_size is 0, as on Linux's procfs: reads must reach us, not stop at the cached size.
    out.open_flags = FOPEN_DIRECT_IO;
    reply.Set(out);
}

void FuseSession::Read(std::span<const uint8_t> body, Reply& reply) {
    fuse_read_in in;
    if (!Parse(body, &in))
        return reply.Fail(EINVAL);
    auto it = m_files.find(in.fh);
    if (it == m_files.end())
        return reply.Fail(EBADF);
    const std::string& text = it->second;
    if (in.offset >= text.size())
        return;
    size_t n = std::min<size_t>({in.size, kMaxReadReply, text.size() - in.offset});
    reply.payload.assign(text.begin() + static_cast<ptrdiff_t>(in.offset),
                         text.begin() + static_cast<ptrdiff_t>(in.offset + n));
}

void FuseSession::Release(std::span<const uint8_t> body, bool dir, Reply& reply) {
    fuse_release_in in;
    if (!Parse(body, &in))
        return reply.Fail(EINVAL);
    if (dir)
        m_dirs.erase(in.fh);
    else
        m_files.erase(in.fh);
}

void FuseSession::ReadLink(uint64_t nodeid, Reply& reply) {
    const Node* node = FindNode(nodeid);
    if (!node)
        return reply.Fail(ESTALE);
    auto target = m_source.ReadLink(node->path);
    if (!target.ok())
        return reply.Fail(target.error());
    // A target is a path: no NUL, shorter than PATH_MAX, never empty.
    if (target->empty() || target->find('\0') != std::string::npos)
        return reply.Fail(EIO);
    if (target->size() >= PATH_MAX)
        return reply.Fail(ENAMETOOLONG);
    reply.payload.assign(target->begin(), target->end());
}

void FuseSession::Access(uint64_t nodeid, std::span<const uint8_t> body, Reply& reply) {
    fuse_access_in in;
    if (!Parse(body, &in))
        return reply.Fail(EINVAL);
    const Node* node = FindNode(nodeid);
    if (!node)
        return reply.Fail(ESTALE);
    if (in.mask & W_OK)
        return reply.Fail(EROFS);
    // The modes are the host kernel's to check (default_permissions); existence is ours.
    if (auto attr = m_source.Stat(node->path); !attr.ok())
        return reply.Fail(attr.error());
}

void FuseSession::StatFs(Reply& reply) {
    fuse_statfs_out out{};
    out.st.bsize = 4096;
    out.st.frsize = 4096;
    out.st.namelen = NAME_MAX;
    reply.Set(out);
}

}  // namespace moat::fs::procfuse
