// TmpfsDirectory::Rename: renameat2 with RENAME_NOREPLACE, RENAME_EXCHANGE and RENAME_WHITEOUT.

#include "fs/tmpfs/directory.h"

#include <mutex>

namespace moat::fs {

Result<void> TmpfsDirectory::Rename(const FsCaller& caller, const std::string& old_name, Inode& new_dir,
                                    const std::string& new_name, unsigned flags) {
    if (flags & ~(kRenameNoReplace | kRenameExchange | kRenameWhiteout))
        return Error(EINVAL);
    if ((flags & kRenameExchange) && (flags & (kRenameNoReplace | kRenameWhiteout)))
        return Error(EINVAL);
    auto* to = dynamic_cast<TmpfsDirectory*>(&new_dir);
    if (!to || &to->filesystem() != &filesystem())
        return Error(new_dir.is_dir() ? EXDEV : ENOTDIR);
    std::shared_ptr<TmpfsInode> whiteout;
    if (flags & kRenameWhiteout) {
        // What overlayfs leaves where a lower name was: a character device 0/0.
        NewInode attr{S_IFCHR, caller.creds ? caller.creds->fsuid : 0u, caller.creds ? caller.creds->fsgid : 0u, 0};
        whiteout = TRY(tmpfs().NewInode(attr));
    }
    std::lock_guard ns(tmpfs().namespace_lock());
    if (to == this) {
        std::lock_guard lock(m_lock);
        return RenameLocked(old_name, *to, new_name, flags, std::move(whiteout));
    }
    std::scoped_lock lock(m_lock, to->m_lock);  // both under the namespace lock: any order is safe
    return RenameLocked(old_name, *to, new_name, flags, std::move(whiteout));
}

Result<void> TmpfsDirectory::RenameLocked(const std::string& old_name, TmpfsDirectory& to,
                                          const std::string& new_name, unsigned flags,
                                          std::shared_ptr<TmpfsInode> whiteout) {
    auto src = FindLocked(old_name);
    if (!src || to.m_attr.nlink == 0)
        return Error(ENOENT);
    if (flags & kRenameExchange)
        return ExchangeLocked(old_name, to, new_name);
    auto dst = to.FindLocked(new_name);
    if (dst) {
        if (flags & kRenameNoReplace)
            return Error(EEXIST);
        if (dst == src)
            return {};  // two names of one file: rename does nothing
        if (src->is_dir() != dst->is_dir())
            return Error(src->is_dir() ? ENOTDIR : EISDIR);
        if (dst->is_dir() && !static_cast<TmpfsDirectory&>(*dst).empty())
            return Error(ENOTEMPTY);
        to.EraseLocked(new_name);
        if (dst->is_dir())
            dst->ClearLinks();
        else
            dst->DropName();
    }
    EraseLocked(old_name);
    to.InsertLocked(new_name, src);
    if (whiteout)
        InsertLocked(old_name, std::move(whiteout));
    src->Touch(/*modified=*/false);
    // `dst` may be the last reference to the replaced file: its destructor takes no tmpfs lock.
    return {};
}

Result<void> TmpfsDirectory::ExchangeLocked(const std::string& old_name, TmpfsDirectory& to,
                                            const std::string& new_name) {
    auto src = FindLocked(old_name);
    auto dst = to.FindLocked(new_name);
    if (!dst)
        return Error(ENOENT);
    if (src == dst)
        return {};
    // Re-inserting keeps each directory's size, and its nlink right when a directory changes sides.
    EraseLocked(old_name);
    to.EraseLocked(new_name);
    InsertLocked(old_name, dst);
    to.InsertLocked(new_name, src);
    src->Touch(/*modified=*/false);
    dst->Touch(/*modified=*/false);
    return {};
}

}  // namespace moat::fs
