#pragma once
// TempTree: a temporary host directory for fs tests, removed (recursively) at destruction.

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace moat::fs::testing {

class TempTree {
public:
    TempTree() {
        char tmpl[] = "/tmp/moat-fs-test-XXXXXX";
        m_root = mkdtemp(tmpl);
        ::chmod(m_root.c_str(), 0755);
    }
    ~TempTree() {
        nftw(m_root.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
             FTW_DEPTH | FTW_PHYS);
    }
    const std::string& root() const { return m_root; }
    std::string Path(const std::string& rel) const { return m_root + "/" + rel; }

    void Dir(const std::string& rel, mode_t mode = 0755) const {
        ::mkdir(Path(rel).c_str(), mode);
        ::chmod(Path(rel).c_str(), mode);
    }
    void File(const std::string& rel, const std::string& content, mode_t mode = 0644) const {
        int fd = ::open(Path(rel).c_str(), O_CREAT | O_WRONLY | O_TRUNC, mode);
        if (fd >= 0) {
            if (::write(fd, content.data(), content.size()) < 0) {
            }
            ::close(fd);
        }
        ::chmod(Path(rel).c_str(), mode);
    }
    void Link(const std::string& rel, const std::string& target) const { (void)::symlink(target.c_str(), Path(rel).c_str()); }
    ino_t Ino(const std::string& rel) const {
        struct stat st {};
        ::lstat(Path(rel).c_str(), &st);
        return st.st_ino;
    }

private:
    std::string m_root;
};

}  // namespace moat::fs::testing
