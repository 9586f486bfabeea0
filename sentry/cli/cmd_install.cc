// `moat install`: the configuration snippets that make container engines use Moat as a
// runtime named "moat" — docker's daemon.json, podman's containers.conf, containerd's CRI
// runtime (the runc v2 shim with BinaryName) — printed, or with --write merged into the files.

#include "sentry/cli/commands.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <climits>
#include <fstream>
#include <sstream>

namespace moat::cli {

namespace {

std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string PodmanSnippet(const std::string& name, const std::string& moat) {
    return fmt::format("[engine.runtimes]\n{} = [\"{}\"]\n", name, moat);
}

std::string ContainerdSnippet(const std::string& name, const std::string& moat) {
    return fmt::format(
        "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.{0}]\n"
        "  runtime_type = \"io.containerd.runc.v2\"\n"
        "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.{0}.options]\n"
        "  BinaryName = \"{1}\"\n",
        name, moat);
}

// Appends `snippet` to a TOML file unless it names our runtime already; false on an I/O error.
bool AppendOnce(const std::string& path, const std::string& marker, const std::string& snippet, std::string* what) {
    std::string text = ReadFile(path);
    if (text.find(marker) != std::string::npos) {
        *what = fmt::format("{}: already has {}", path, marker);
        return true;
    }
    // A table header that is there already must not be repeated (TOML): add our lines under it.
    std::string header = snippet.substr(0, snippet.find('\n') + 1);
    if (size_t at = text.find(header); at != std::string::npos && snippet.find("\n[") == std::string::npos) {
        text.insert(at + header.size(), snippet.substr(header.size()));
        std::ofstream out(path, std::ios::trunc);
        out << text;
        *what = fmt::format("{}: added {}", path, marker);
        return static_cast<bool>(out);
    }
    std::ofstream out(path, std::ios::app);
    out << (text.empty() || text.back() == '\n' ? "" : "\n") << "\n" << snippet;
    *what = fmt::format("{}: added {}", path, marker);
    return static_cast<bool>(out);
}

}  // namespace

int RunInstall(const InstallOptions& opts) {
    char self[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        fmt::print(stderr, "moat: cannot find my own path\n");
        return 1;
    }
    std::string moat(self, static_cast<size_t>(n));
    const std::string& name = opts.name;
    nlohmann::json docker = {{"runtimes", {{name, {{"path", moat}}}}}};
    if (!opts.write) {
        fmt::print("# {} (docker)\n{}\n\n", opts.docker_config, docker.dump(2));
        fmt::print("# {} (podman)\n{}\n", opts.podman_config, PodmanSnippet(name, moat));
        fmt::print("# {} (containerd, CRI)\n{}", opts.containerd_config, ContainerdSnippet(name, moat));
        return 0;
    }
    // docker: merged into the JSON object, keeping everything else.
    nlohmann::json merged = nlohmann::json::object();
    std::string text = ReadFile(opts.docker_config);
    if (!text.empty()) {
        try {
            merged = nlohmann::json::parse(text);
        } catch (const std::exception& e) {
            fmt::print(stderr, "moat: {} is not valid JSON ({}); not changed\n", opts.docker_config, e.what());
            return 1;
        }
    }
    merged["runtimes"][name] = {{"path", moat}};
    {
        std::ofstream out(opts.docker_config, std::ios::trunc);
        out << merged.dump(2) << "\n";
        if (!out) {
            fmt::print(stderr, "moat: cannot write {}\n", opts.docker_config);
            return 1;
        }
    }
    fmt::print("{}: runtimes.{} set\n", opts.docker_config, name);
    std::string what;
    if (!AppendOnce(opts.podman_config, fmt::format("{} = [", name), PodmanSnippet(name, moat), &what))
        return fmt::print(stderr, "moat: cannot write {}\n", opts.podman_config), 1;
    fmt::print("{}\n", what);
    if (!AppendOnce(opts.containerd_config, fmt::format("runtimes.{}]", name), ContainerdSnippet(name, moat), &what))
        return fmt::print(stderr, "moat: cannot write {}\n", opts.containerd_config), 1;
    fmt::print("{}\n", what);
    return 0;
}

}  // namespace moat::cli
