#include "fs/vfs/directory_file.h"

#include <dirent.h>

namespace moat::fs {

Result<int64_t> DirectoryFile::Seek(int64_t offset, int whence) {
    std::lock_guard lock(m_pos_lock);
    int64_t result;
    switch (whence) {
    case SEEK_SET:
        result = offset;
        break;
    case SEEK_CUR:
        if (__builtin_add_overflow(m_offset, offset, &result))
            return Error(EINVAL);
        break;
    default:
        return Error(EINVAL);
    }
    if (result < 0)
        return Error(EINVAL);
    m_offset = result;
    if (result == 0)
        m_have_snapshot = false;  // rewinddir sees fresh entries
    return result;
}

Result<void> DirectoryFile::GetDents(const FsCaller& caller, DirentSink& sink) {
    std::lock_guard lock(m_pos_lock);
    if (!m_have_snapshot || m_offset == 0) {
        const VfsPath& p = *path();
        std::vector<DirEntry> entries;
        uint64_t self_ino = p.inode().CachedAttr().ino;
        uint64_t parent_ino = self_ino;
        if (auto parent = p.dentry->parent())
            parent_ino = parent->ino().CachedAttr().ino;
        else if (p.mount->parent() && p.mount->mountpoint() && p.mount->mountpoint()->parent())
            parent_ino = p.mount->mountpoint()->parent()->ino().CachedAttr().ino;
        entries.push_back({".", self_ino, DT_DIR});
        entries.push_back({"..", parent_ino, DT_DIR});
        auto rest = TRY(p.inode().ReadDir(caller));
        for (auto& e : rest)
            entries.push_back(std::move(e));
        m_snapshot = std::move(entries);
        m_have_snapshot = true;
    }
    while (m_offset >= 0 && static_cast<uint64_t>(m_offset) < m_snapshot.size()) {
        if (!sink.Add(m_snapshot[m_offset], m_offset + 1))
            break;
        ++m_offset;
    }
    return {};
}

}  // namespace moat::fs
