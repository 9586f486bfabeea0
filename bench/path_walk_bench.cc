// Microbenchmarks of the path walk (fs/vfs/path_walk.cc) and the syscall table, run as a host
// program: a Vfs over a temporary host tree, resolved by the sentry itself (FsCaller{}).

#include "fs/fs_context.h"
#include "fs/testing/temp_tree.h"
#include "fs/vfs.h"
#include "fs/vfs/caller.h"
#include "fs/vfs/path_walk.h"
#include "syscalls/table.h"

#include <benchmark/benchmark.h>
#include <sys/syscall.h>

#include <cstdlib>

namespace {

using namespace moat;

struct WalkFixture {
    fs::testing::TempTree tree;
    std::unique_ptr<fs::Vfs> vfs;
    std::shared_ptr<fs::FsContext> ctx;

    WalkFixture() {
        tree.Dir("a");
        tree.Dir("a/b");
        tree.Dir("a/b/c");
        tree.Dir("a/b/c/d");
        tree.File("a/b/c/d/file", "data");
        tree.Link("a/link", "b/c/d/file");
        fs::VfsOptions opts;
        opts.host_root = tree.root();
        vfs = fs::Vfs::Create(opts).release_value();
        ctx = fs::FsContext::Create(*vfs, "/").release_value();
    }
};

// A five-component absolute path on the host filesystem, every dentry cached after the first walk.
void BM_PathWalk(benchmark::State& state, const char* path) {
    WalkFixture f;
    fs::FsCaller caller;
    auto root = f.ctx->root();
    for (auto _ : state) {
        auto r = f.vfs->Resolve(caller, root, root, path, fs::kWalkFollow);
        if (!r.ok()) {
            state.SkipWithError("resolve failed");
            break;
        }
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK_CAPTURE(BM_PathWalk, five_components, "/a/b/c/d/file");
BENCHMARK_CAPTURE(BM_PathWalk, through_symlink, "/a/link");
BENCHMARK_CAPTURE(BM_PathWalk, dotdot, "/a/b/../b/c/./d/file");

// The dispatcher's first step: number → entry.
void BM_SyscallTableLookup(benchmark::State& state) {
    static constexpr uint64_t kNumbers[] = {SYS_read, SYS_write, SYS_openat, SYS_getppid, SYS_futex,
                                            SYS_epoll_wait, SYS_clone3, 1000};
    size_t i = 0;
    for (auto _ : state) {
        auto* e = syscalls::Lookup(kNumbers[i++ & 7]);
        benchmark::DoNotOptimize(e);
    }
}
BENCHMARK(BM_SyscallTableLookup);

}  // namespace
