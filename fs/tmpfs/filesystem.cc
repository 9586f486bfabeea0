#include "fs/tmpfs/filesystem.h"

#include <unistd.h>

#include "fs/tmpfs/directory.h"
#include "fs/tmpfs/regular_file.h"
#include "sentry/mm/user_addr.h"

namespace moat::fs {

std::shared_ptr<TmpfsFileSystem> TmpfsFileSystem::Create(const TmpfsOptions& opts) {
    return std::shared_ptr<TmpfsFileSystem>(new TmpfsFileSystem(opts));
}

TmpfsFileSystem::TmpfsFileSystem(const TmpfsOptions& opts)
    : m_max_pages(mm::PageUp(opts.size_limit) / mm::kPageSize), m_max_inodes(opts.max_inodes),
      m_root_mode(opts.root_mode & 07777), m_root_uid(opts.root_uid), m_root_gid(opts.root_gid),
      m_memory_file(opts.memory_file) {}

TmpfsFileSystem::~TmpfsFileSystem() = default;

Result<std::shared_ptr<Inode>> TmpfsFileSystem::MakeRootInode() {
    fs::NewInode attr{S_IFDIR | m_root_mode, m_root_uid, m_root_gid, 0};
    return std::shared_ptr<Inode>(TRY(NewInode(attr)));
}

TmpfsUsage TmpfsFileSystem::Usage() const {
    return TmpfsUsage{m_max_pages, m_used_pages.load(std::memory_order_relaxed), m_max_inodes,
                      m_used_inodes.load(std::memory_order_relaxed)};
}

namespace {
Result<void> Reserve(std::atomic<uint64_t>& used, uint64_t limit, uint64_t n) {
    uint64_t cur = used.load(std::memory_order_relaxed);
    do {
        if (limit != 0 && (n > limit || cur > limit - n))
            return Error(ENOSPC);
    } while (!used.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
    return {};
}
}  // namespace

Result<void> TmpfsFileSystem::ReservePages(uint64_t n) { return Reserve(m_used_pages, m_max_pages, n); }

void TmpfsFileSystem::ReleasePages(uint64_t n) { m_used_pages.fetch_sub(n, std::memory_order_relaxed); }

Result<void> TmpfsFileSystem::ReserveInode() { return Reserve(m_used_inodes, m_max_inodes, 1); }

void TmpfsFileSystem::ReleaseInode() { m_used_inodes.fetch_sub(1, std::memory_order_relaxed); }

Result<std::shared_ptr<TmpfsInode>> TmpfsFileSystem::NewInode(const fs::NewInode& attr,
                                                              const std::string& symlink_target) {
    auto self = std::static_pointer_cast<TmpfsFileSystem>(shared_from_this());
    switch (attr.mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
        break;
    default:
        return Error(EINVAL);
    }
    TRY(ReserveInode());  // released by ~TmpfsInode
    uint64_t ino = NextIno();
    switch (attr.mode & S_IFMT) {
    case S_IFREG: return std::shared_ptr<TmpfsInode>(std::make_shared<TmpfsRegularInode>(self, attr, ino));
    case S_IFDIR: return std::shared_ptr<TmpfsInode>(std::make_shared<TmpfsDirectory>(self, attr, ino));
    case S_IFLNK:
        return std::shared_ptr<TmpfsInode>(std::make_shared<TmpfsSymlink>(self, attr, ino, symlink_target));
    default: return std::shared_ptr<TmpfsInode>(std::make_shared<TmpfsSpecial>(self, attr, ino));
    }
}

Result<FsStatistics> TmpfsFileSystem::StatFs() {
    TmpfsUsage u = Usage();
    FsStatistics st;
    st.type = 0x01021994;  // TMPFS_MAGIC
    // Unlimited: what Linux's default (half of memory) would show.
    uint64_t total = u.total_blocks ? u.total_blocks : mm::SandboxRamBytes(memory_file()) / mm::kPageSize / 2;
    st.blocks = total;
    st.blocks_free = st.blocks_avail = total > u.used_blocks ? total - u.used_blocks : 0;
    uint64_t inodes = u.total_inodes ? u.total_inodes : total;
    st.files = inodes;
    st.files_free = inodes > u.used_inodes ? inodes - u.used_inodes : 0;
    return st;
}

}  // namespace moat::fs
