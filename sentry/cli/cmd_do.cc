// `moat do -- CMD ARGS…`: builds a kernel with the host root, runs CMD as PID 1, and passes
// its exit status back.

#include "fs/binds.h"
#include "fs/exec.h"
#include "fs/fd_table.h"
#include "fs/fs_context.h"
#include "fs/vfs.h"
#include "fs/dev/devfs.h"
#include "fs/procfuse/proc_fuse_server.h"
#include "net/network.h"
#include "platform/base/log.h"
#include "platform/ptrace/ptrace_platform.h"
#include "platform/systrap/systrap_platform.h"
#include "sentry/cli/commands.h"
#include "sentry/cli/do_restrictions.h"
#include "sentry/cli/oci_control.h"
#include "sentry/cli/signal_forwarder.h"
#include "sentry/kernel/process_tree.h"
#include "sentry/kernel/kernel.h"
#include "sentry/mm/memory_file.h"
#include "sentry/kernel/thread_group.h"
#include "sentry/sandbox/confinement.h"
#include "sentry/sandbox/privileges.h"
#include "syscalls/table.h"

#include <fcntl.h>
#include <net/if.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace moat::cli {
namespace {

int Fail(const std::string& what) {
    fmt::print(stderr, "moat: {}\n", what);
    return 125;
}

std::vector<std::string> HostEnvironment() {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e)
        env.emplace_back(*e);
    return env;
}

std::string EnvValue(const std::vector<std::string>& env, const std::string& name) {
    for (const auto& e : env)
        if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
            return e.substr(name.size() + 1);
    return "";
}

// Why a bind failed, in words: which side, and what is wrong with it.
std::string BindError(const fs::BindSpec& spec, fs::BindSide side, int err) {
    if (side == fs::BindSide::Source) {
        if (err == EINVAL)
            return fmt::format("source {} is neither a directory nor a regular file", spec.source);
        return fmt::format("source {}: {}", spec.source, strerror(err));
    }
    switch (err) {
    case ENOENT: return fmt::format("destination {} does not exist in the sandbox", spec.destination);
    case ENOTDIR: return fmt::format("source {} is a directory but destination {} is not", spec.source, spec.destination);
    case EISDIR: return fmt::format("source {} is a file but destination {} is a directory", spec.source, spec.destination);
    case EINVAL: return fmt::format("destination {} is not a regular file", spec.destination);
    default: return fmt::format("destination {}: {}", spec.destination, strerror(err));
    }
}

// Builds the sandbox's root filesystem: the host root (or --root) and the binds.
Result<std::unique_ptr<fs::Vfs>> BuildVfs(const DoOptions& opts, mm::MemoryFile& memory_file, std::string* error) {
    fs::VfsOptions vfs_opts;
    vfs_opts.host_root = opts.root;
    vfs_opts.memory_file = &memory_file;
    // The terminal the sandbox may call its own (/dev/tty): the first of our stdio that is one.
    for (int fd = 0; fd <= 2 && vfs_opts.console_fd < 0; ++fd)
        if (isatty(fd))
            vfs_opts.console_fd = fd;
    auto vfs = fs::Vfs::Create(vfs_opts);
    if (!vfs.ok()) {
        *error = fmt::format("cannot build the sandbox's root filesystem from {}: {}", opts.root, strerror(vfs.error()));
        return Error(vfs.error());
    }
    vfs.value()->set_memory_file(&memory_file);
    for (const auto& arg : opts.binds) {
        const char* flag = arg.read_only ? "--ro-bind" : "--bind";
        auto spec = fs::ParseBindSpec(arg.spec, arg.read_only);
        if (!spec.ok()) {
            *error = fmt::format("{} {}: expected SRC:DST", flag, arg.spec);
            return Error(spec.error());
        }
        if (opts.make_mount_points) {
            struct stat st;
            bool is_dir = ::stat(spec->source.c_str(), &st) != 0 || S_ISDIR(st.st_mode);
            if (auto made = fs::EnsureMountPoint(*vfs.value(), spec->destination, is_dir); !made.ok()) {
                *error = fmt::format("mount point {}: {}", spec->destination, strerror(made.error()));
                return Error(made.error());
            }
        }
        fs::BindSide side;
        auto mounted = fs::MountBind(*vfs.value(), *spec, &side);
        if (!mounted.ok()) {
            *error = fmt::format("{} {}: {}", flag, arg.spec, BindError(*spec, side, mounted.error()));
            return Error(mounted.error());
        }
    }
    return vfs;
}

// "host", or "engine" (an OCI container's new network namespace, made at create) when the
// engine configured more than loopback in it since: docker's bridge. Otherwise the
// sandbox's own stack in a namespace of its own.
bool UsesHostNetwork(const std::string& network) {
    if (network == "host")
        return true;
    if (network != "engine")
        return false;
    const net::NetworkConfig here = net::NetworkConfig::FromHost();
    for (const auto& iface : here.interfaces())
        if (!(iface.flags & IFF_LOOPBACK))
            return true;
    return false;
}

bool EnvSet(const char* name) {
    const char* v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

}  // namespace

int RunDo(const DoOptions& opts) {
    if (opts.command.empty()) {
        Fail("do: no command given (usage: moat do [flags] -- CMD ARGS...)");
        return 2;
    }
    if (opts.platform != "ptrace" && opts.platform != "systrap")
        return Fail(fmt::format("do: platform '{}' is not available; use --platform=ptrace or systrap", opts.platform));
    // The sentry keeps only the host fds it opens itself.
    sandbox::CloseInheritedFds();
    if (!opts.debug_log.empty()) {
        int fd = ::open(opts.debug_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return Fail(fmt::format("--debug-log {}: {}", opts.debug_log, strerror(errno)));
        log::set_debug_file(fd);
    }
    // What the init process inherits from the host, read before confinement changes it.
    kernel::InitProcess init;
    init.argv = opts.command;
    init.envp = opts.env ? *opts.env : HostEnvironment();
    init.cwd = opts.cwd;
    if (init.cwd.empty()) {
        char buf[4096];
        init.cwd = getcwd(buf, sizeof(buf)) ? buf : "/";
    }
    kernel::ThreadGroup::CaptureHostRlimits();
    if (opts.open_files)
        kernel::ThreadGroup::SetInitialRlimit(RLIMIT_NOFILE, {opts.open_files, opts.open_files});
    ApplyInitialRlimits(opts);
    init.credentials = opts.init_credentials;
    init.umask = opts.umask;
    // Still single-threaded here: a user namespace needs that.
    sandbox::ConfineOptions confine_opts;
    confine_opts.host_filter = !opts.no_host_filter;
    // --network=host stays in the host's network namespace (its socket calls join the list).
    const bool host_network = UsesHostNetwork(opts.network);
    confine_opts.host_network = host_network;
    confine_opts.cpus = opts.cpus;
    confine_opts.log_filter = EnvSet("MOAT_HOST_FILTER_LOG");
    // OCI containers: a /proc in the sentry's mount namespace for the engine (podman top).
    confine_opts.proc_fuse = !opts.control_socket.empty();
    sandbox::Confinement confinement(confine_opts);
    if (auto r = confinement.EnterNamespaces(); !r.ok())
        return Fail(fmt::format("cannot confine the sentry (namespaces): {}", strerror(r.error())));

    // The sentry writes to the caller's stdout; a closed pipe is an EPIPE, not our death.
    signal(SIGPIPE, SIG_IGN);
    // Before any sentry thread exists, so that they all inherit the blocked mask.
    SignalForwarder forwarder;

    // --memory-limit is the memory file's size: every frame of the sandbox lives there.
    uint64_t capacity = opts.memory_limit ? (opts.memory_limit + 4095) & ~uint64_t{4095} : uint64_t{64} << 30;
    auto memory_file = mm::MemoryFile::Create(capacity);
    if (!memory_file.ok())
        return Fail(fmt::format("cannot create the memory file: {}", strerror(memory_file.error())));
    std::string vfs_error;
    auto vfs = BuildVfs(opts, *memory_file.value(), &vfs_error);
    if (!vfs.ok())
        return Fail(vfs_error);
    for (const auto& t : opts.tmpfs) {
        if (auto made = fs::EnsureMountPoint(*vfs.value(), t.path, true); !made.ok())
            return Fail(fmt::format("tmpfs {}: {}", t.path, strerror(made.error())));
        if (auto mounted = vfs.value()->MountTmpfs(t.path, t.mode, t.size, 0); !mounted.ok())
            return Fail(fmt::format("tmpfs {}: {}", t.path, strerror(mounted.error())));
    }
    if (std::string err = ApplyPathRestrictions(*vfs.value(), opts); !err.empty())
        return Fail(err);
    // --network=host: the host's interfaces, read once now (before the host's /proc goes away
    // with the pivot); sockets open on the host later.
    const auto net_mode = host_network ? net::NetworkMode::kHost : net::NetworkMode::kNone;
    auto net_config = net_mode == net::NetworkMode::kHost ? net::NetworkConfig::FromHost() : net::NetworkConfig::LoopbackOnly();
    // An OCI container's control socket is bound while its host path is still in reach.
    std::unique_ptr<ControlServer> control;
    if (!opts.control_socket.empty()) {
        auto bound = ControlServer::Bind(opts.control_socket);
        if (!bound.ok())
            return Fail(fmt::format("control socket {}: {}", opts.control_socket, strerror(bound.error())));
        control = bound.release_value();
        confinement.AllowControlSocket(control->listen_fd(), ControlServer::kAcceptFlags, ControlServer::kRecvFlags);
    }
    // The host tree is reachable only through the fds taken so far; then the sentry loses its
    // root, its capabilities and any way to gain new privileges, before the first stub forks.
    if (auto r = confinement.Seal(); !r.ok())
        return Fail(fmt::format("cannot confine the sentry: {}", strerror(r.error())));
    // After Seal: host networking starts a poller thread, which must inherit the dropped
    // capabilities (they are per thread; Seal refuses to run with a second thread).
    auto network = std::make_shared<net::Network>(net_mode, std::move(net_config));
    platform::SystrapOptions systrap_opts;
    systrap_opts.patch_syscalls = opts.syscall_patch;
    auto platform = opts.platform == "systrap" ? platform::CreateSystrapPlatform(memory_file.value()->fd(), systrap_opts)
                                               : platform::CreatePtracePlatform(memory_file.value()->fd());
    if (!platform.ok())
        return Fail(fmt::format("cannot start the {} platform: {}", opts.platform, strerror(platform.error())));
    confinement.AllowMapping(memory_file.value()->fd());
    for (int fd : platform.value()->host_mapped_fds())
        confinement.AllowMapping(fd);

    kernel::KernelOptions kopts;
    kopts.strace = opts.strace;
    if (!opts.hostname.empty())
        kopts.hostname = opts.hostname;
    kopts.network = network;
    auto kernel = kernel::Kernel::Create(platform.release_value(), memory_file.release_value(), vfs.release_value(), kopts);
    if (!kernel.ok())
        return Fail(fmt::format("cannot start the sentry: {}", strerror(kernel.error())));
    kernel.value()->set_syscall_dispatcher(&syscalls::Dispatch);
    kernel.value()->processes().set_pids_limit(opts.pids_limit);
    // After Seal (the thread inherits the dropped capabilities), before LockDown (its eventfd).
    auto proc_server = fs::procfuse::ServeSandboxProc(confinement.TakeProcFuseFd(), *kernel.value());

    auto fs_ctx = fs::FsContext::Create(kernel.value()->vfs(), init.cwd);
    if (!fs_ctx.ok()) {
        init.cwd = "/";
        fs_ctx = fs::FsContext::Create(kernel.value()->vfs(), init.cwd);
        if (!fs_ctx.ok())
            return Fail("cannot enter the sandbox's root directory");
    }
    auto path = fs::ResolveInPath(kernel.value()->vfs(), *fs_ctx.value(), opts.command[0], EnvValue(init.envp, "PATH"));
    if (!path.ok()) {
        fmt::print(stderr, "moat: {}: {}\n", opts.command[0],
                   path.error() == ENOENT ? "command not found" : strerror(path.error()));
        return path.error() == ENOENT ? 127 : 126;
    }
    init.path = path.value();

    // Last: every host syscall from here on is on the allowlist.
    if (auto r = confinement.LockDown(); !r.ok())
        return Fail(fmt::format("cannot install the host seccomp filter: {}", strerror(r.error())));
    if (EnvSet("MOAT_TEST_FORBIDDEN_SYSCALL"))
        ::syscall(SYS_acct, nullptr);  // tests/security: a call off the list must kill the sentry
    forwarder.Start(*kernel.value());
    auto console = fs::FindConsoleNode(kernel.value()->vfs());
    // `moat exec` requests may be queued on the control socket already: they are served once
    // PID 1 runs.
    auto status = kernel.value()->Run(init, fs::FdTable::CreateWithHostStdio(console ? &*console : nullptr), [&] {
        if (control)
            control->Serve(*kernel.value());
    });
    control.reset();
    proc_server.reset();  // before the kernel it reads goes away
    forwarder.Stop();  // before the kernel it forwards to goes away
    if (!status.ok()) {
        fmt::print(stderr, "moat: {}: {}\n", opts.command[0], strerror(status.error()));
        return status.error() == ENOENT ? 127 : 126;
    }
    for (const auto& [nr, count] : kernel.value()->unimplemented_counts()) {
        const auto* e = syscalls::Lookup(nr);
        log::debug("unimplemented syscall {} ({}): {} calls", nr, e ? e->name : "unknown", count);
    }
    return ExitCodeOf(status.value());
}

int ExitCodeOf(int ws) {
    if (WIFSIGNALED(ws))
        return 128 + WTERMSIG(ws);
    return WEXITSTATUS(ws);
}

}  // namespace moat::cli
