#pragma once
// Where the OCI runtime keeps what it knows of each container between invocations: one
// directory per container under the state root (`--root`, default /run/moat), holding
// state.json and, until `start`, the exec FIFO the container's process waits on.
//
// The container's process is a host process (the sentry, forked by `create`) whose pid is in
// state.json with its start time, so a reused pid is never taken for the container.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace moat::cli {

struct ContainerState {
    std::string id;
    pid_t pid = 0;
    uint64_t start_time = 0;  // field 22 of /proc/<pid>/stat
    std::string bundle;
    std::string rootfs;
    std::string created;      // RFC 3339, UTC
    bool paused = false;
    std::map<std::string, std::string> annotations;
};

class StateStore {
public:
    explicit StateStore(std::string root) : m_root(std::move(root)) {}

    const std::string& root() const { return m_root; }
    std::string Dir(const std::string& id) const { return m_root + "/" + id; }
    std::string FifoPath(const std::string& id) const { return Dir(id) + "/exec.fifo"; }

    // Makes the container's directory (EEXIST if the id is taken) and its exec FIFO.
    int Create(const std::string& id);
    int Save(const ContainerState& st);
    std::optional<ContainerState> Load(const std::string& id) const;
    void Remove(const std::string& id);
    std::vector<std::string> Ids() const;

private:
    std::string m_root;
};

// runc's statuses: "created" (waiting for start), "running", "paused", "stopped".
std::string LiveStatus(const StateStore& store, const ContainerState& st);
bool ProcessAlive(pid_t pid, uint64_t start_time);
uint64_t ProcessStartTime(pid_t pid);
// `pid` and every host process descended from it (the sentry's stubs), pid first.
std::vector<pid_t> ProcessTree(pid_t pid);
// runc's state JSON.
std::string StateJson(const StateStore& store, const ContainerState& st);
std::string NowRfc3339();
// A container id as runc accepts it: [A-Za-z0-9_+.-]+, not "." or "..".
bool ValidId(const std::string& id);

}  // namespace moat::cli
