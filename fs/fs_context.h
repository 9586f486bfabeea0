#pragma once
// FsContext: a task's root, working directory and umask (Linux's fs_struct). Shared by tasks
// cloned with CLONE_FS; copied by Fork otherwise.
//
// Lock: m_lock is a leaf lock, held only to copy the references in or out.

#include "fs/vfs/mount.h"
#include "platform/base/result.h"

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

namespace moat::fs {

class FsContext {
public:
    // Root = the VFS's root; cwd = `cwd` resolved from it (symlinks followed, must be a
    // directory; "" means "/").
    static Result<std::shared_ptr<FsContext>> Create(Vfs& vfs, const std::string& cwd);

    // A copy (clone/fork without CLONE_FS).
    std::shared_ptr<FsContext> Fork() const;

    Vfs& vfs() const { return m_vfs; }
    VfsPath root() const;
    VfsPath cwd() const;
    void set_cwd(VfsPath cwd);
    void set_root(VfsPath root);
    uint32_t umask() const;
    // Sets the umask (& 0777) and returns the old one.
    uint32_t SwapUmask(uint32_t mask);

    FsContext(Vfs& vfs, VfsPath root, VfsPath cwd, uint32_t umask)
        : m_vfs(vfs), m_root(std::move(root)), m_cwd(std::move(cwd)), m_umask(umask) {}

private:
    Vfs& m_vfs;
    mutable std::mutex m_lock;
    VfsPath m_root;       // guarded by m_lock
    VfsPath m_cwd;        // guarded by m_lock
    uint32_t m_umask;     // guarded by m_lock
};

}  // namespace moat::fs
