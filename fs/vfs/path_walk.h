#pragma once
// PathWalker: Linux's path walk. One walker serves one syscall (it counts the symlinks
// followed across the whole operation, as nameidata does).
//
// Rules (see fs/README.md for the full list):
//  - component by component; before each component the current directory must be a directory
//    (ENOTDIR) with search permission (EACCES);
//  - "." stays; ".." at the caller's root stays, at a mount root crosses to the mountpoint in
//    the parent mount first; stepping onto a mountpoint enters the topmost mount there;
//  - a symlink in the middle is always followed, a final one only with follow (or a trailing
//    slash); absolute targets restart at the caller's root — never the host's; at most 40
//    links per walk (ELOOP); an empty target is ENOENT;
//  - a component longer than NAME_MAX (255) is ENAMETOOLONG; the caller checks PATH_MAX;
//  - a trailing slash makes the final component follow symlinks and be a directory.

#include "fs/vfs/caller.h"
#include "fs/vfs/mount.h"
#include "fs/vfs/mount_table.h"
#include "platform/base/result.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::fs {

inline constexpr int kMaxSymlinks = 40;
inline constexpr size_t kNameMax = 255;
inline constexpr size_t kPathMax = 4096;

enum WalkFlags : unsigned {
    kWalkFollow = 1,     // follow a final symlink
    kWalkDirectory = 2,  // the result must be a directory (ENOTDIR)
};

// openat2's RESOLVE_* restrictions (same values as Linux's).
enum ResolveFlags : unsigned {
    kResolveNoXdev = 0x01,        // never cross a mount (EXDEV)
    kResolveNoMagicLinks = 0x02,  // no magic link (/proc/[pid]/fd/N…) (ELOOP)
    kResolveNoSymlinks = 0x04,    // no symlink at all (ELOOP)
    kResolveBeneath = 0x08,       // never leave the start directory (EXDEV)
    kResolveInRoot = 0x10,        // the start directory is the root for "/" and ".."
    kResolveCached = 0x20,        // accepted: every lookup here is "cached" enough
};

class PathWalker {
public:
    // Bind: a magic link was followed at the end; the result is the location it jumped to
    // (Linux's LAST_BIND), never followed again.
    enum class LastType { Normal, Dot, DotDot, Root, Bind };

    PathWalker(const MountTable& mounts, const FsCaller& caller, VfsPath root)
        : m_mounts(mounts), m_caller(caller), m_root(std::move(root)) {}

    // Restricts the walk (openat2). With kResolveBeneath or kResolveInRoot the caller makes the
    // walk's root the start directory.
    void set_resolve(unsigned flags) { m_resolve = flags; }

    // Resolves `path` from `start` (ignored when absolute).
    Result<VfsPath> Resolve(const VfsPath& start, std::string_view path, unsigned flags);

    // Walks all but the last component; afterwards dir(), last() and last_type() describe it.
    Result<void> WalkParent(const VfsPath& start, std::string_view path);
    // The last component: ".", ".." and "/" resolved, mounts crossed; ENOENT if absent.
    Result<VfsPath> LookupLast();
    // Same, but a missing name is nullopt rather than ENOENT.
    Result<std::optional<VfsPath>> LookupLastOptional();
    // Follows `link` (the symlink LookupLast just returned): counts it, reads it and walks the
    // target's parent part, so dir()/last() now describe the target's last component.
    Result<void> FollowLast(const VfsPath& link);

    const VfsPath& dir() const { return m_dir; }
    const std::string& last() const { return m_last; }
    LastType last_type() const { return m_last_type; }
    // The path (or a followed final symlink's target) ended in '/'. Sticky for the walk.
    bool trailing_slash() const { return m_trailing; }
    const VfsPath& root() const { return m_root; }
    const FsCaller& caller() const { return m_caller; }

    // One step: the child `name` of directory `dir` (no permission check), mounts crossed.
    Result<VfsPath> Step(const VfsPath& dir, const std::string& name);
    // The child dentry `name` of `dir` itself, mounts not crossed (what unlink and rename act
    // on); ENOENT if absent.
    Result<std::shared_ptr<Dentry>> Child(const VfsPath& dir, const std::string& name);
    // "..", with the root and mount rules.
    VfsPath DotDot(VfsPath p) const;
    VfsPath CrossMounts(VfsPath p) const;

private:
    Result<void> MayLookup(const VfsPath& dir) const;
    Result<void> WalkComponents(std::string_view path);
    Result<void> Drain();
    void PushComponents(std::string_view path);
    Result<std::string> ReadLinkCounted(const VfsPath& link);
    Result<VfsPath> JumpCounted(const VfsPath& link);

    const MountTable& m_mounts;
    FsCaller m_caller;
    VfsPath m_root;
    VfsPath m_dir;
    std::vector<std::string> m_stack;  // components still to walk, next on top (back)
    std::string m_last;
    VfsPath m_bind;  // LastType::Bind's location
    LastType m_last_type = LastType::Root;
    bool m_trailing = false;
    int m_links = 0;
    unsigned m_resolve = 0;
    mutable int m_violation = 0;  // an errno a RESOLVE_* rule raised during a const step
};

}  // namespace moat::fs
