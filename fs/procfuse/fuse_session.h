#pragma once
// FuseSession: the FUSE protocol (<linux/fuse.h>, 7.12 and later) over a ProcSource, one
// request in, at most one reply out, no I/O of its own (ProcFuseServer moves the bytes), so
// that tests can drive it with request buffers.
//
// Read-only and small: INIT (no splice, no writeback, no readdirplus, max_write 4 KiB),
// LOOKUP, GETATTR, OPENDIR/READDIR/RELEASEDIR, OPEN/READ/RELEASE, READLINK, FORGET,
// BATCH_FORGET, STATFS, ACCESS, INTERRUPT (ignored: every request is answered at once),
// DESTROY; everything else ENOSYS. Entry and attribute timeouts are 0: the host kernel asks
// again on every walk, as Moat's procfs caches no dentries.
//
// Hostile input on both sides: requests are length-checked before any field is read; what
// the workload controls (names, links, texts) is bounded and names never hold '/' or NUL.

#include "fs/procfuse/proc_source.h"

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace moat::fs::procfuse {

class FuseSession {
public:
    // Bounds on what a reader can make the session hold or send.
    static constexpr size_t kMaxNodes = 16384;        // nodeids the kernel may hold at once
    static constexpr size_t kMaxHandles = 1024;       // open files and directories
    static constexpr size_t kMaxFileBytes = 1 << 20;  // a file's snapshot (longer ones are cut)
    static constexpr size_t kMaxDirEntries = 65536;
    static constexpr size_t kMaxReadReply = 128 * 1024;
    static constexpr uint32_t kMaxWrite = 4096;

    explicit FuseSession(ProcSource& source) : m_source(source) {}

    // One request as read from /dev/fuse; the reply to write, empty for none (FORGET,
    // INTERRUPT, a request too short to answer).
    std::vector<uint8_t> Handle(std::span<const uint8_t> request);

    bool initialized() const { return m_initialized; }
    bool destroyed() const { return m_destroyed; }
    size_t node_count() const { return m_nodes.size(); }
    size_t handle_count() const { return m_files.size() + m_dirs.size(); }

private:
    struct Node {
        std::string path;  // below the source's root; "" for the root
        uint64_t lookups = 0;
    };
    struct Reply;

    void Dispatch(uint32_t opcode, uint64_t nodeid, std::span<const uint8_t> body, Reply& reply);
    void Init(std::span<const uint8_t> body, Reply& reply);
    void Lookup(uint64_t parent, std::span<const uint8_t> body, Reply& reply);
    void GetAttr(uint64_t nodeid, Reply& reply);
    void Forget(uint64_t nodeid, uint64_t count);
    void BatchForget(std::span<const uint8_t> body);
    void OpenDir(uint64_t nodeid, Reply& reply);
    void ReadDir(std::span<const uint8_t> body, Reply& reply);
    void Open(uint64_t nodeid, std::span<const uint8_t> body, Reply& reply);
    void Read(std::span<const uint8_t> body, Reply& reply);
    void Release(std::span<const uint8_t> body, bool dir, Reply& reply);
    void ReadLink(uint64_t nodeid, Reply& reply);
    void Access(uint64_t nodeid, std::span<const uint8_t> body, Reply& reply);
    void StatFs(Reply& reply);

    const Node* FindNode(uint64_t nodeid) const;
    uint64_t NewHandle() { return m_next_handle++; }

    ProcSource& m_source;
    bool m_initialized = false;
    bool m_destroyed = false;
    std::unordered_map<uint64_t, Node> m_nodes;
    std::unordered_map<std::string, uint64_t> m_node_by_path;
    uint64_t m_next_node = 2;  // 1 is FUSE_ROOT_ID; ids are never reused
    std::unordered_map<uint64_t, std::string> m_files;
    std::unordered_map<uint64_t, std::vector<DirEntry>> m_dirs;
    uint64_t m_next_handle = 1;
};

// A name the session passes on: a path component, not "." or "..", no '/' or NUL, at most
// NAME_MAX bytes.
bool IsPlainName(std::string_view name);

}  // namespace moat::fs::procfuse
