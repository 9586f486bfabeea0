#include "sentry/cli/oci_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace moat::cli {

namespace {

using nlohmann::json;

int MakeDirs(const std::string& path) {
    std::string at;
    for (size_t i = 1; i <= path.size(); ++i) {
        if (i == path.size() || path[i] == '/') {
            at = path.substr(0, i);
            if (::mkdir(at.c_str(), 0711) != 0 && errno != EEXIST)
                return errno;
        }
    }
    return 0;
}

// The ppid and start time fields of /proc/<pid>/stat (after the parenthesised comm).
bool StatFields(pid_t pid, pid_t* ppid, uint64_t* start_time, char* state) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(in, line))
        return false;
    size_t close = line.rfind(')');
    if (close == std::string::npos)
        return false;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field)
        f.push_back(field);
    // f[0] is field 3 (state); field N is f[N - 3].
    if (f.size() < 20)
        return false;
    if (state)
        *state = f[0][0];
    if (ppid)
        *ppid = static_cast<pid_t>(std::stol(f[1]));
    if (start_time)
        *start_time = std::stoull(f[19]);
    return true;
}

}  // namespace

int StateStore::Create(const std::string& id) {
    if (int err = MakeDirs(m_root))
        return err;
    if (::mkdir(Dir(id).c_str(), 0711) != 0)
        return errno;
    if (::mkfifo(FifoPath(id).c_str(), 0600) != 0) {
        int err = errno;
        ::rmdir(Dir(id).c_str());
        return err;
    }
    return 0;
}

int StateStore::Save(const ContainerState& st) {
    json j = {{"id", st.id},         {"pid", st.pid},         {"start_time", st.start_time},
              {"bundle", st.bundle}, {"rootfs", st.rootfs},   {"created", st.created},
              {"paused", st.paused}, {"annotations", st.annotations}};
    std::string tmp = Dir(st.id) + "/state.json.tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out)
            return errno ? errno : EIO;
        out << j.dump() << "\n";
        if (!out)
            return EIO;
    }
    if (::rename(tmp.c_str(), (Dir(st.id) + "/state.json").c_str()) != 0)
        return errno;
    return 0;
}

std::optional<ContainerState> StateStore::Load(const std::string& id) const {
    if (!ValidId(id))
        return std::nullopt;
    std::ifstream in(Dir(id) + "/state.json");
    if (!in)
        return std::nullopt;
    try {
        json j = json::parse(in);
        ContainerState st;
        st.id = j.at("id").get<std::string>();
        st.pid = j.at("pid").get<pid_t>();
        st.start_time = j.value("start_time", uint64_t{0});
        st.bundle = j.value("bundle", "");
        st.rootfs = j.value("rootfs", "");
        st.created = j.value("created", "");
        st.paused = j.value("paused", false);
        if (j.contains("annotations"))
            st.annotations = j["annotations"].get<std::map<std::string, std::string>>();
        return st;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void StateStore::Remove(const std::string& id) {
    ::unlink(FifoPath(id).c_str());
    ::unlink((Dir(id) + "/state.json").c_str());
    ::unlink((Dir(id) + "/state.json.tmp").c_str());
    ::unlink((Dir(id) + "/control.sock").c_str());
    ::rmdir(Dir(id).c_str());
}

std::vector<std::string> StateStore::Ids() const {
    std::vector<std::string> ids;
    DIR* dir = ::opendir(m_root.c_str());
    if (!dir)
        return ids;
    while (dirent* e = ::readdir(dir))
        if (e->d_name[0] != '.' && ValidId(e->d_name))
            ids.emplace_back(e->d_name);
    ::closedir(dir);
    std::sort(ids.begin(), ids.end());
    return ids;
}

uint64_t ProcessStartTime(pid_t pid) {
    uint64_t t = 0;
    return StatFields(pid, nullptr, &t, nullptr) ? t : 0;
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
    char state = 0;
    uint64_t t = 0;
    if (pid <= 0 || !StatFields(pid, nullptr, &t, &state))
        return false;
    return state != 'Z' && state != 'X' && (start_time == 0 || t == start_time);
}

std::string LiveStatus(const StateStore& store, const ContainerState& st) {
    if (!ProcessAlive(st.pid, st.start_time))
        return "stopped";
    if (st.paused)
        return "paused";
    struct stat sb;
    if (::stat(store.FifoPath(st.id).c_str(), &sb) == 0)
        return "created";
    return "running";
}

std::vector<pid_t> ProcessTree(pid_t root) {
    std::vector<std::pair<pid_t, pid_t>> parents;  // (pid, ppid)
    DIR* dir = ::opendir("/proc");
    if (dir) {
        while (dirent* e = ::readdir(dir)) {
            char* end = nullptr;
            long pid = std::strtol(e->d_name, &end, 10);
            pid_t ppid = 0;
            if (end && *end == 0 && pid > 0 && StatFields(static_cast<pid_t>(pid), &ppid, nullptr, nullptr))
                parents.emplace_back(static_cast<pid_t>(pid), ppid);
        }
        ::closedir(dir);
    }
    std::vector<pid_t> tree = {root};
    for (size_t i = 0; i < tree.size(); ++i)
        for (const auto& [pid, ppid] : parents)
            if (ppid == tree[i] && pid != root)
                tree.push_back(pid);
    return tree;
}

std::string StateJson(const StateStore& store, const ContainerState& st) {
    std::string status = LiveStatus(store, st);
    json j = {{"ociVersion", "1.0.2"},
              {"id", st.id},
              {"pid", status == "stopped" ? 0 : st.pid},
              {"status", status},
              {"bundle", st.bundle},
              {"rootfs", st.rootfs},
              {"created", st.created},
              {"owner", ""},
              {"annotations", st.annotations}};
    return j.dump(2) + "\n";
}

std::string NowRfc3339() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    ::gmtime_r(&ts.tv_sec, &t);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &t);
    return fmt::format("{}.{:09d}Z", buf, ts.tv_nsec);
}

bool ValidId(const std::string& id) {
    if (id.empty() || id == "." || id == ".." || id.size() > 1024)
        return false;
    for (char c : id)
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.'))
            return false;
    return true;
}

}  // namespace moat::cli
