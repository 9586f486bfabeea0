#include "fs/procfuse/proc_source.h"

#include "fs/file.h"
#include "fs/io.h"
#include "fs/vfs.h"
#include "fs/vfs/filesystem.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/thread_group.h"

#include <fcntl.h>

#include <algorithm>

namespace moat::fs::procfuse {
namespace {

class CollectingSink final : public DirentSink {
public:
    explicit CollectingSink(size_t limit) : m_limit(limit) {}
    bool Add(const DirEntry& entry, int64_t) override {
        if (entries.size() >= m_limit)
            return false;
        entries.push_back(entry);
        return true;
    }
    std::vector<DirEntry> entries;

private:
    const size_t m_limit;
};

class SandboxProcSource final : public ProcSource {
public:
    SandboxProcSource(kernel::Kernel& kernel, VfsPath root) : m_kernel(kernel), m_root(std::move(root)) {}

    Result<InodeAttr> Stat(const std::string& path) override {
        if (path.empty())
            return m_root.inode().Stat();  // needs no task: the mount's root exists from the start
        Reader reader = TRY(Enter());
        VfsPath at = TRY(Walk(reader, path));
        return at.inode().Stat();
    }

    Result<std::vector<DirEntry>> List(const std::string& path, size_t limit) override {
        Reader reader = TRY(Enter());
        VfsPath at = TRY(Walk(reader, path));
        auto dir = TRY(m_kernel.vfs().OpenPath(reader.caller, at, O_RDONLY | O_DIRECTORY));
        CollectingSink sink(limit);
        TRY(dir->GetDents(reader.caller, sink));
        return std::move(sink.entries);
    }

    Result<std::string> ReadAll(const std::string& path, size_t limit) override {
        Reader reader = TRY(Enter());
        VfsPath at = TRY(Walk(reader, path));
        auto file = TRY(m_kernel.vfs().OpenPath(reader.caller, at, O_RDONLY));
        std::string text;
        uint8_t chunk[16384];
        while (text.size() < limit) {
            BufferDst dst(std::span<uint8_t>(chunk, std::min(sizeof(chunk), limit - text.size())));
            size_t n = TRY(file->PRead(dst, text.size()));
            if (n == 0)
                break;
            text.append(reinterpret_cast<const char*>(chunk), n);
        }
        return text;
    }

    Result<std::string> ReadLink(const std::string& path) override {
        Reader reader = TRY(Enter());
        VfsPath at = TRY(Walk(reader, path));
        return m_kernel.vfs().ReadLink(reader.caller, at);
    }

private:
    // Who reads: the sentry's credentials (null: no permission checks) and a live task of the
    // sandbox, which procfs needs to list processes; the reference keeps it alive for the call.
    struct Reader {
        std::shared_ptr<kernel::Task> task;
        FsCaller caller;
    };

    Result<Reader> Enter() {
        std::vector<pid_t> pids;
        m_kernel.ForEachThreadGroup([&](kernel::ThreadGroup& tg) { pids.push_back(tg.pid()); });
        std::sort(pids.begin(), pids.end());
        for (pid_t pid : pids) {
            Reader reader;
            reader.task = m_kernel.processes().FindTask(pid);
            if (!reader.task)
                continue;
            reader.caller.task = reader.task.get();
            return reader;
        }
        return Error(ENOENT);  // before the init process exists, or after the last one
    }

    // `path` below the procfs root; ".." and absolute links cannot leave it (it is the walk's root).
    Result<VfsPath> Walk(const Reader& reader, const std::string& path) {
        if (path.empty())
            return m_root;
        return m_kernel.vfs().Resolve(reader.caller, m_root, m_root, path, 0);
    }

    kernel::Kernel& m_kernel;
    const VfsPath m_root;
};

}  // namespace

Result<std::unique_ptr<ProcSource>> MakeSandboxProcSource(kernel::Kernel& kernel) {
    Vfs& vfs = kernel.vfs();
    VfsPath top = vfs.root();
    VfsPath proc = TRY(vfs.Resolve(FsCaller{}, top, top, "/proc", kWalkFollow | kWalkDirectory));
    if (proc.inode().filesystem().name() != "proc")
        return Error(ENOENT);
    return std::unique_ptr<ProcSource>(std::make_unique<SandboxProcSource>(kernel, std::move(proc)));
}

}  // namespace moat::fs::procfuse
