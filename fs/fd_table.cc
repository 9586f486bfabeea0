#include "fs/fd_table.h"

#include "fs/lock/lock_hooks.h"

#include <algorithm>

namespace moat::fs {

FdTable::~FdTable() { CloseAll(); }

void FdTable::Closed(const File& file) const { ReleaseProcessLocks(file, this); }

Result<std::shared_ptr<File>> FdTable::Get(int fd) {
    std::lock_guard lock(m_lock);
    if (fd < 0 || static_cast<size_t>(fd) >= m_entries.size() || !m_entries[fd].file)
        return Error(EBADF);
    return m_entries[fd].file;
}

Result<std::pair<std::shared_ptr<File>, bool>> FdTable::GetWithFlags(int fd) {
    std::lock_guard lock(m_lock);
    if (fd < 0 || static_cast<size_t>(fd) >= m_entries.size() || !m_entries[fd].file)
        return Error(EBADF);
    return std::make_pair(m_entries[fd].file, m_entries[fd].cloexec);
}

Result<int> FdTable::Install(std::shared_ptr<File> file, bool cloexec, int min_fd, int limit) {
    if (!file)
        return Error(EINVAL);
    limit = std::min(limit, kMaxFds);
    if (min_fd < 0)
        return Error(EINVAL);
    std::lock_guard lock(m_lock);
    size_t fd = static_cast<size_t>(min_fd);
    while (fd < m_entries.size() && m_entries[fd].file)
        ++fd;
    if (fd >= static_cast<size_t>(std::max(limit, 0)))
        return Error(EMFILE);
    if (fd >= m_entries.size())
        m_entries.resize(fd + 1);
    m_entries[fd] = Entry{std::move(file), cloexec};
    return static_cast<int>(fd);
}

Result<int> FdTable::InstallAt(int fd, std::shared_ptr<File> file, bool cloexec, int limit) {
    if (!file)
        return Error(EINVAL);
    limit = std::min(limit, kMaxFds);
    if (fd < 0 || fd >= limit)
        return Error(EBADF);
    std::shared_ptr<File> old;
    {
        std::lock_guard lock(m_lock);
        if (static_cast<size_t>(fd) >= m_entries.size())
            m_entries.resize(fd + 1);
        old = std::exchange(m_entries[fd].file, std::move(file));
        m_entries[fd].cloexec = cloexec;
    }
    if (old)
        Closed(*old);
    return fd;  // `old` is released here, outside m_lock
}

Result<void> FdTable::Close(int fd) {
    std::shared_ptr<File> old;
    {
        std::lock_guard lock(m_lock);
        if (fd < 0 || static_cast<size_t>(fd) >= m_entries.size() || !m_entries[fd].file)
            return Error(EBADF);
        old = std::move(m_entries[fd].file);
        m_entries[fd].cloexec = false;
        while (!m_entries.empty() && !m_entries.back().file)
            m_entries.pop_back();
    }
    Closed(*old);
    return {};
}

void FdTable::CloseRange(unsigned first, unsigned last, bool cloexec_only) {
    std::vector<std::shared_ptr<File>> dropped;
    {
        std::lock_guard lock(m_lock);
        for (size_t fd = first; fd < m_entries.size() && fd <= last; ++fd) {
            if (!m_entries[fd].file)
                continue;
            if (cloexec_only) {
                m_entries[fd].cloexec = true;
            } else {
                dropped.push_back(std::move(m_entries[fd].file));
                m_entries[fd].cloexec = false;
            }
        }
        while (!m_entries.empty() && !m_entries.back().file)
            m_entries.pop_back();
    }
    for (auto& f : dropped)
        Closed(*f);
}

Result<bool> FdTable::GetCloexec(int fd) {
    std::lock_guard lock(m_lock);
    if (fd < 0 || static_cast<size_t>(fd) >= m_entries.size() || !m_entries[fd].file)
        return Error(EBADF);
    return m_entries[fd].cloexec;
}

Result<void> FdTable::SetCloexec(int fd, bool cloexec) {
    std::lock_guard lock(m_lock);
    if (fd < 0 || static_cast<size_t>(fd) >= m_entries.size() || !m_entries[fd].file)
        return Error(EBADF);
    m_entries[fd].cloexec = cloexec;
    return {};
}

Result<std::shared_ptr<FdTable>> FdTable::Fork() {
    auto copy = std::make_shared<FdTable>();
    std::lock_guard lock(m_lock);
    copy->m_entries = m_entries;
    return copy;
}

void FdTable::CloseOnExec() {
    std::vector<std::shared_ptr<File>> dropped;
    {
        std::lock_guard lock(m_lock);
        for (auto& e : m_entries) {
            if (e.file && e.cloexec) {
                dropped.push_back(std::move(e.file));
                e.cloexec = false;
            }
        }
        while (!m_entries.empty() && !m_entries.back().file)
            m_entries.pop_back();
    }
    for (auto& f : dropped)
        Closed(*f);
}

void FdTable::CloseAll() {
    std::vector<Entry> dropped;
    {
        std::lock_guard lock(m_lock);
        dropped.swap(m_entries);
    }
    for (auto& e : dropped)
        if (e.file)
            Closed(*e.file);
}

std::vector<int> FdTable::fds() {
    std::vector<int> out;
    std::lock_guard lock(m_lock);
    for (size_t fd = 0; fd < m_entries.size(); ++fd)
        if (m_entries[fd].file)
            out.push_back(static_cast<int>(fd));
    return out;
}

int FdTable::count() { return static_cast<int>(fds().size()); }

}  // namespace moat::fs
