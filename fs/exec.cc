#include "fs/exec.h"

#include "fs/fs_context.h"
#include "fs/host/regular_file.h"
#include "fs/task_fs.h"
#include "fs/vfs.h"
#include "fs/vfs/permissions.h"
#include "sentry/kernel/task.h"

namespace moat::fs {

namespace {

class VfsExecFile final : public loader::ExecFile {
public:
    VfsExecFile(std::shared_ptr<File> file, std::string path) : m_file(std::move(file)), m_path(std::move(path)) {}

    Result<size_t> ReadAt(std::span<uint8_t> dst, uint64_t offset) override {
        size_t done = 0;
        while (done < dst.size()) {
            BufferDst out(dst.subspan(done));
            size_t n = TRY(m_file->PRead(out, offset + done));
            if (n == 0)
                break;
            done += n;
        }
        return done;
    }
    std::shared_ptr<mm::Mappable> mappable() override { return m_file->mappable(); }
    std::string path() const override { return m_path; }
    std::shared_ptr<void> DenyWrite() override {
        // The token keeps the open file — so its dentry and inode — alive: a later
        // /proc/self/exe open finds this very inode.
        struct Guard {
            explicit Guard(std::shared_ptr<File> f) : file(std::move(f)) { file->inode()->DenyWrite(); }
            Guard(const Guard&) = delete;
            Guard& operator=(const Guard&) = delete;
            ~Guard() { file->inode()->AllowWrite(); }
            std::shared_ptr<File> file;
        };
        if (!m_file->inode())
            return nullptr;
        return std::make_shared<Guard>(m_file);
    }

private:
    std::shared_ptr<File> m_file;
    std::string m_path;
};

// do_open_execat once the path is walked: a regular file, on a mount that allows exec, with
// MAY_EXEC. A symlink here was not followed (AT_SYMLINK_NOFOLLOW): ELOOP, as open(2) says.
Result<std::shared_ptr<loader::ExecFile>> OpenResolved(const FsCaller& caller, const VfsPath& root,
                                                       const VfsPath& target) {
    Inode& inode = target.inode();
    if (inode.is_symlink())
        return Error(ELOOP);
    if (!inode.is_regular() || (target.mount->flags() & kMountNoExec))
        return Error(EACCES);
    TRY(CheckPermission(caller.creds, inode.CachedAttr(), kMayExec));
    auto file = TRY(inode.Open(caller, target, O_RDONLY | O_LARGEFILE));
    return std::shared_ptr<loader::ExecFile>(std::make_shared<VfsExecFile>(std::move(file), PathFrom(target, root)));
}

}  // namespace

Result<std::shared_ptr<loader::ExecFile>> OpenExec(Vfs& vfs, const FsCaller& caller, const VfsPath& root,
                                                   const VfsPath& cwd, const std::string& path) {
    if (path.empty())
        return Error(ENOENT);
    if (path.size() >= kPathMax)
        return Error(ENAMETOOLONG);
    VfsPath target = TRY(vfs.Resolve(caller, root, path.front() == '/' ? root : cwd, path, kWalkFollow));
    return OpenResolved(caller, root, target);
}

Result<std::shared_ptr<loader::ExecFile>> OpenExecPath(kernel::Task& task, const VfsPath& target) {
    if (!target.valid())
        return Error(EACCES);  // an fd outside the VFS (a pipe, a socket): not a regular file
    return OpenResolved(CallerOf(task), task.fs_context().root(), target);
}

loader::ExecOpener MakeExecOpener(kernel::Task& task) {
    return [&task](const std::string& path) -> Result<std::shared_ptr<loader::ExecFile>> {
        FsContext& fsc = task.fs_context();
        return OpenExec(fsc.vfs(), CallerOf(task), fsc.root(), fsc.cwd(), path);
    };
}

Result<std::string> ResolveInPath(Vfs& vfs, FsContext& fs, const std::string& cmd, const std::string& path_env) {
    if (cmd.empty())
        return Error(ENOENT);
    if (cmd.find('/') != std::string::npos)
        return cmd;
    std::string search = path_env.empty() ? std::string("/bin:/usr/bin") : path_env;
    VfsPath root = fs.root(), cwd = fs.cwd();
    bool saw_eacces = false;
    size_t begin = 0;
    for (;;) {
        size_t end = search.find(':', begin);
        std::string dir = search.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
        std::string candidate = dir.empty() ? "./" + cmd : (dir.back() == '/' ? dir + cmd : dir + "/" + cmd);
        auto r = OpenExec(vfs, FsCaller{}, root, cwd, candidate);
        if (r.ok())
            return candidate;
        if (r.error() == EACCES)
            saw_eacces = true;
        if (end == std::string::npos)
            break;
        begin = end + 1;
    }
    return Error(saw_eacces ? EACCES : ENOENT);
}

}  // namespace moat::fs
