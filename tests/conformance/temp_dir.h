#pragma once
// TempDir: a fresh directory for a test that writes files, removed with everything in it when
// the test ends. Natively it lives in $TMPDIR or /tmp; under Moat /tmp is the sandbox's own.

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

namespace moat::conformance {

class TempDir {
public:
    TempDir() {
        const char* base = getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/moat-test-XXXXXX";
        if (mkdtemp(tmpl.data()))
            m_path = tmpl;
    }
    ~TempDir() {
        if (!m_path.empty())
            nftw(m_path.c_str(), Remove, 16, FTW_DEPTH | FTW_PHYS);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    bool ok() const { return !m_path.empty(); }
    const std::string& path() const { return m_path; }
    // The path of `name` inside the directory.
    std::string operator/(const std::string& name) const { return m_path + "/" + name; }

private:
    static int Remove(const char* path, const struct stat*, int type, struct FTW*) {
        if (type == FTW_DP)
            rmdir(path);
        else
            unlink(path);
        return 0;
    }
    std::string m_path;
};

}  // namespace moat::conformance
