// /proc/[pid]/net (and /proc/net, a link to self/net): the sandbox's network as Linux shows
// it. The texts are net/'s (net/proc_net.h): this is the one place fs/ reads net/, because
// what the files show is the sockets' and interfaces' state.

#include "fs/proc/system_files.h"

#include "net/network.h"
#include "net/proc_net.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"

#include <netinet/in.h>

namespace moat::fs::proc {

using namespace synthetic;

namespace {

using NetText = std::function<std::string(kernel::Kernel&)>;

ChildSpec NetFile(std::string name, NetText text, std::shared_ptr<FileSystem> fs, struct timespec time) {
    FileOps ops;
    ops.generate = [text = std::move(text)](const FsCaller& caller) -> Result<std::string> {
        if (!caller.task)
            return Error(ENOENT);
        return text(caller.task->kernel());
    };
    return FileChild(std::move(name), 0444, std::move(ops), std::move(fs), time);
}

}  // namespace

ChildSpec NetDirChild(std::shared_ptr<FileSystem> fs, struct timespec time) {
    return DirChild("net", 0555, [fs, time] {
        auto config = [](kernel::Kernel& k) -> const net::NetworkConfig& { return k.network()->config(); };
        std::vector<ChildSpec> c;
        c.push_back(NetFile("dev", [config](kernel::Kernel& k) { return net::ProcNetDev(config(k)); }, fs, time));
        c.push_back(NetFile("if_inet6", [config](kernel::Kernel& k) { return net::ProcNetIfInet6(config(k)); }, fs,
                            time));
        c.push_back(NetFile("route", [config](kernel::Kernel& k) { return net::ProcNetRoute(config(k)); }, fs, time));
        c.push_back(NetFile("tcp", [](kernel::Kernel& k) { return net::ProcNetInet(k.inet_space().get(), IPPROTO_TCP, AF_INET); }, fs, time));
        c.push_back(NetFile("tcp6", [](kernel::Kernel& k) { return net::ProcNetInet(k.inet_space().get(), IPPROTO_TCP, AF_INET6); }, fs, time));
        c.push_back(NetFile("udp", [](kernel::Kernel& k) { return net::ProcNetInet(k.inet_space().get(), IPPROTO_UDP, AF_INET); }, fs, time));
        c.push_back(NetFile("udp6", [](kernel::Kernel& k) { return net::ProcNetInet(k.inet_space().get(), IPPROTO_UDP, AF_INET6); }, fs, time));
        c.push_back(NetFile("unix", [](kernel::Kernel& k) { return net::ProcNetUnix(*k.unix_space()); }, fs, time));
        return c;
    }, fs, time);
}

}  // namespace moat::fs::proc
