#include "fs/devpts/filesystem.h"

#include "fs/dev/char_devices.h"
#include "fs/tty/pty.h"
#include "fs/tty/pty_file.h"
#include "fs/vfs.h"
#include "sentry/kernel/task.h"

#include <dirent.h>

#include <charconv>
#include <string>

namespace moat::fs {

namespace {

enum : uint64_t { kRootIno = 1, kPtmxIno = 2, kFirstPtyIno = 3 };

DevptsFileSystem& Devpts(Inode& inode) { return static_cast<DevptsFileSystem&>(inode.filesystem()); }

class PtmxNode final : public Inode {
public:
    explicit PtmxNode(std::shared_ptr<FileSystem> fs) : Inode(std::move(fs), S_IFCHR) {}
    Result<InodeAttr> Stat() override { return CachedAttr(); }
    InodeAttr CachedAttr() override {
        InodeAttr a;
        a.dev = filesystem().anon_dev();
        a.ino = kPtmxIno;
        a.mode = S_IFCHR;  // ptmxmode=000
        a.rdev = kDevPtmx;
        a.blksize = 1024;
        a.atime = a.mtime = a.ctime = Devpts(*this).created();
        return a;
    }
};

// /dev/pts/N: its attributes live with the pty, so they follow chmod/chown for its life.
class SlaveNode final : public Inode {
public:
    SlaveNode(std::shared_ptr<FileSystem> fs, std::shared_ptr<Pty> pty)
        : Inode(std::move(fs), S_IFCHR), m_pty(std::move(pty)) {}
    Result<InodeAttr> Stat() override { return CachedAttr(); }
    InodeAttr CachedAttr() override { return m_pty->node_attr(); }
    Result<void> SetAttr(const FsCaller&, const SetAttrRequest& req) override { return m_pty->SetNodeAttr(req); }

private:
    std::shared_ptr<Pty> m_pty;
};

class DevptsRoot final : public Inode {
public:
    explicit DevptsRoot(std::shared_ptr<FileSystem> fs) : Inode(std::move(fs), S_IFDIR) {}
    Result<InodeAttr> Stat() override { return CachedAttr(); }
    InodeAttr CachedAttr() override {
        InodeAttr a;
        a.dev = filesystem().anon_dev();
        a.ino = kRootIno;
        a.mode = S_IFDIR | 0755;
        a.nlink = 2;
        a.blksize = 1024;
        a.atime = a.mtime = a.ctime = Devpts(*this).created();
        return a;
    }
    Result<std::shared_ptr<Inode>> Lookup(const FsCaller&, const std::string& name) override {
        auto fs = filesystem().shared_from_this();
        if (name == "ptmx")
            return std::shared_ptr<Inode>(std::make_shared<PtmxNode>(fs));
        uint32_t index = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
        if (ec != std::errc() || end != name.data() + name.size() || (name.size() > 1 && name[0] == '0'))
            return Error(ENOENT);
        auto pty = Devpts(*this).Find(index);
        if (!pty)
            return Error(ENOENT);
        return std::shared_ptr<Inode>(std::make_shared<SlaveNode>(fs, std::move(pty)));
    }
    Result<std::vector<DirEntry>> ReadDir(const FsCaller&) override {
        std::vector<DirEntry> out;
        out.push_back({"ptmx", kPtmxIno, DT_CHR});
        for (uint32_t index : Devpts(*this).Indexes())
            out.push_back({std::to_string(index), kFirstPtyIno + index, DT_CHR});
        return out;
    }
};

}  // namespace

std::shared_ptr<DevptsFileSystem> DevptsFileSystem::Create() {
    auto fs = std::shared_ptr<DevptsFileSystem>(new DevptsFileSystem());
    fs->m_created = FsNow();
    return fs;
}

Result<FsStatistics> DevptsFileSystem::StatFs() {
    FsStatistics s;
    s.type = kDevptsMagic;
    s.block_size = 4096;
    return s;
}

std::shared_ptr<Inode> DevptsFileSystem::MakeRootInode() { return std::make_shared<DevptsRoot>(shared_from_this()); }

Result<std::shared_ptr<File>> DevptsFileSystem::OpenMaster(const FsCaller& caller, int open_flags,
                                                           const VfsPath& path) {
    std::shared_ptr<Pty> pty;
    {
        std::lock_guard lock(m_lock);
        uint32_t index = 0;
        for (auto& [i, weak] : m_ptys) {
            if (i != index)
                break;
            ++index;
        }
        if (index >= kMaxPtys)
            return Error(ENOSPC);
        InodeAttr node;
        node.dev = anon_dev();
        node.ino = kFirstPtyIno + index;
        node.mode = S_IFCHR | 0620;
        node.uid = caller.creds ? caller.creds->fsuid : 0;
        node.gid = kTtyGid;
        node.rdev = MakeDev(kPtySlaveMajor, index);
        node.blksize = 1024;
        node.atime = node.mtime = node.ctime = FsNow();
        kernel::Kernel* kernel = caller.task ? &caller.task->kernel() : nullptr;
        auto self = std::static_pointer_cast<DevptsFileSystem>(shared_from_this());
        pty = std::make_shared<Pty>(index, kernel, node, self);
        m_ptys[index] = pty;
    }
    return std::shared_ptr<File>(std::make_shared<PtyMasterFile>(pty, StatusFlagsOf(open_flags), path));
}

Result<std::shared_ptr<File>> DevptsFileSystem::OpenSlave(const FsCaller& caller, uint32_t index, int open_flags,
                                                          const VfsPath& path) {
    auto pty = Find(index);
    if (!pty)
        return Error(EIO);
    return PtySlaveFile::Open(std::move(pty), caller, open_flags, &path);
}

std::shared_ptr<Pty> DevptsFileSystem::Find(uint32_t index) {
    std::lock_guard lock(m_lock);
    auto it = m_ptys.find(index);
    return it == m_ptys.end() ? nullptr : it->second.lock();
}

std::vector<uint32_t> DevptsFileSystem::Indexes() {
    std::vector<uint32_t> out;
    std::lock_guard lock(m_lock);
    for (auto& [index, weak] : m_ptys)
        out.push_back(index);
    return out;
}

void DevptsFileSystem::Remove(uint32_t index) {
    std::weak_ptr<Pty> gone;  // released outside the lock
    std::lock_guard lock(m_lock);
    auto it = m_ptys.find(index);
    if (it != m_ptys.end()) {
        gone = std::move(it->second);
        m_ptys.erase(it);
    }
}

}  // namespace moat::fs
