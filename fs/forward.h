#pragma once
// Forward declarations of fs/'s types, to keep includes small.

namespace moat::fs {
class Dentry;
class DirectoryFile;
class FdTable;
class File;
class FileLocks;
class FileSystem;
class FsContext;
class HostFileSystem;
class HostInode;
class HostIo;
class Inode;
class InodeWatchers;
class IoDst;
class IoSrc;
class Mount;
class PathWalker;
class Pipe;
class Vfs;
struct DirEntry;
struct FsCaller;
struct InodeAttr;
struct VfsPath;
}  // namespace moat::fs
