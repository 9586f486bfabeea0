#pragma once
namespace moat::kernel {
class Kernel;
class Task;
class ThreadGroup;
class WaitQueue;
struct Credentials;
}  // namespace moat::kernel
namespace moat::fs {
class Vfs;
class FdTable;
class FsContext;
class File;
}  // namespace moat::fs
namespace moat::mm {
class MemoryManager;
class MemoryFile;
}  // namespace moat::mm
