// FuseSession driven with request buffers, as /dev/fuse would hand them over, over a fake
// ProcSource: the replies' framing, the node table, and the length checks on hostile input.

#include "fs/procfuse/fuse_session.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/stat.h>

#include <cstring>
#include <map>

namespace moat::fs::procfuse {
namespace {

class FakeSource final : public ProcSource {
public:
    std::map<std::string, InodeAttr> attrs;
    std::map<std::string, std::vector<DirEntry>> dirs;
    std::map<std::string, std::string> files, links;

    Result<InodeAttr> Stat(const std::string& path) override {
        auto it = attrs.find(path);
        if (it == attrs.end())
            return Error(ENOENT);
        return it->second;
    }
    Result<std::vector<DirEntry>> List(const std::string& path, size_t) override {
        auto it = dirs.find(path);
        if (it == dirs.end())
            return Error(ENOTDIR);
        return it->second;
    }
    Result<std::string> ReadAll(const std::string& path, size_t limit) override {
        auto it = files.find(path);
        if (it == files.end())
            return Error(ENOENT);
        return it->second.substr(0, limit);
    }
    Result<std::string> ReadLink(const std::string& path) override {
        auto it = links.find(path);
        if (it == links.end())
            return Error(EINVAL);
        return it->second;
    }
    void Add(const std::string& path, uint32_t mode) {
        InodeAttr a;
        a.mode = mode;
        a.ino = 100 + attrs.size();
        attrs[path] = a;
    }
};

struct Response {
    bool present = false;
    fuse_out_header header{};
    std::vector<uint8_t> payload;
    template <typename T>
    T As() const {
        T t{};
        EXPECT_GE(payload.size(), sizeof(T));
        std::memcpy(&t, payload.data(), std::min(sizeof(T), payload.size()));
        return t;
    }
    std::string text() const { return std::string(payload.begin(), payload.end()); }
};

class FuseSessionTest : public ::testing::Test {
protected:
    FuseSessionTest() {
        source.Add("", S_IFDIR | 0555);
        source.dirs[""] = {{".", 1, DT_DIR}, {"..", 1, DT_DIR}, {"1", 5, DT_DIR}, {"self", 6, DT_LNK},
                           {"bad/name", 7, DT_REG}};
        source.Add("1", S_IFDIR | 0555);
        source.Add("1/cmdline", S_IFREG | 0444);
        source.files["1/cmdline"] = std::string("sleep\0" "100\0", 10);
        source.Add("self", S_IFLNK | 0777);
        source.links["self"] = "1";
        source.Add("evil", S_IFLNK | 0777);
        source.links["evil"] = std::string("a\0b", 3);
        source.Add("sock", S_IFSOCK | 0777);
    }

    Response Send(uint32_t opcode, uint64_t nodeid, const void* body, size_t size) {
        std::vector<uint8_t> req(sizeof(fuse_in_header) + size);
        fuse_in_header in{};
        in.len = static_cast<uint32_t>(req.size());
        in.opcode = opcode;
        in.unique = ++unique;
        in.nodeid = nodeid;
        std::memcpy(req.data(), &in, sizeof(in));
        if (size)
            std::memcpy(req.data() + sizeof(in), body, size);
        return Parse(session.Handle(req));
    }
    template <typename T>
    Response Send(uint32_t opcode, uint64_t nodeid, const T& body) {
        return Send(opcode, nodeid, &body, sizeof(body));
    }
    Response SendName(uint32_t opcode, uint64_t nodeid, const std::string& name) {
        return Send(opcode, nodeid, name.c_str(), name.size() + 1);
    }
    Response Parse(const std::vector<uint8_t>& bytes) {
        Response r;
        if (bytes.empty())
            return r;
        r.present = true;
        EXPECT_GE(bytes.size(), sizeof(fuse_out_header));
        std::memcpy(&r.header, bytes.data(), sizeof(r.header));
        EXPECT_EQ(r.header.len, bytes.size());
        EXPECT_EQ(r.header.unique, unique);
        r.payload.assign(bytes.begin() + sizeof(fuse_out_header), bytes.end());
        return r;
    }
    void Init() {
        fuse_init_in in{};
        in.major = 7;
        in.minor = 38;
        in.max_readahead = 65536;
        auto r = Send(FUSE_INIT, 0, in);
        ASSERT_TRUE(r.present);
        ASSERT_EQ(r.header.error, 0);
    }
    uint64_t Lookup(uint64_t parent, const std::string& name) {
        auto r = SendName(FUSE_LOOKUP, parent, name);
        EXPECT_EQ(r.header.error, 0) << name;
        return r.As<fuse_entry_out>().nodeid;
    }

    FakeSource source;
    FuseSession session{source};
    uint64_t unique = 0;
};

TEST_F(FuseSessionTest, InitNegotiatesMinimalProtocol) {
    fuse_init_in in{};
    in.major = 7;
    in.minor = 99;  // a newer kernel
    in.flags = 0xffffffff;
    auto r = Send(FUSE_INIT, 0, in);
    ASSERT_EQ(r.header.error, 0);
    auto out = r.As<fuse_init_out>();
    EXPECT_EQ(out.major, 7u);
    EXPECT_EQ(out.minor, static_cast<uint32_t>(FUSE_KERNEL_MINOR_VERSION));
    EXPECT_EQ(out.flags, 0u);
    EXPECT_EQ(out.max_write, FuseSession::kMaxWrite);
    EXPECT_TRUE(session.initialized());
}

TEST_F(FuseSessionTest, RequestsBeforeInitAndMisframedOnesFail) {
    EXPECT_EQ(Send(FUSE_GETATTR, FUSE_ROOT_ID, nullptr, 0).header.error, -EIO);
    Init();
    // Shorter than a header: nothing to answer to.
    std::vector<uint8_t> tiny(8, 0);
    EXPECT_TRUE(session.Handle(tiny).empty());
    // A header whose len disagrees with what was read.
    fuse_in_header in{};
    in.len = 4096;
    in.opcode = FUSE_GETATTR;
    in.unique = ++unique;
    in.nodeid = FUSE_ROOT_ID;
    std::vector<uint8_t> req(sizeof(in));
    std::memcpy(req.data(), &in, sizeof(in));
    EXPECT_EQ(Parse(session.Handle(req)).header.error, -EIO);
    // Bodies too short for their struct.
    EXPECT_EQ(Send(FUSE_READ, FUSE_ROOT_ID, "x", 1).header.error, -EINVAL);
    EXPECT_EQ(Send(FUSE_OPEN, FUSE_ROOT_ID, nullptr, 0).header.error, -EINVAL);
    EXPECT_EQ(Send(FUSE_MKDIR, FUSE_ROOT_ID, nullptr, 0).header.error, -ENOSYS);
}

TEST_F(FuseSessionTest, LookupOpenReadRelease) {
    Init();
    uint64_t pid = Lookup(FUSE_ROOT_ID, "1");
    uint64_t cmdline = Lookup(pid, "cmdline");
    EXPECT_NE(pid, cmdline);
    EXPECT_EQ(Lookup(pid, "cmdline"), cmdline);  // the same path keeps its nodeid

    fuse_open_in open{};
    open.flags = O_RDONLY;
    auto opened = Send(FUSE_OPEN, cmdline, open);
    ASSERT_EQ(opened.header.error, 0);
    auto out = opened.As<fuse_open_out>();
    EXPECT_TRUE(out.open_flags & FOPEN_DIRECT_IO);

    fuse_read_in read{};
    read.fh = out.fh;
    read.size = 4;
    EXPECT_EQ(Send(FUSE_READ, cmdline, read).text(), std::string("slee"));
    read.offset = 4;
    read.size = 100;
    EXPECT_EQ(Send(FUSE_READ, cmdline, read).text(), std::string("p\0" "100\0", 6));
    read.offset = 1000;
    EXPECT_TRUE(Send(FUSE_READ, cmdline, read).payload.empty());

    fuse_release_in release{};
    release.fh = out.fh;
    EXPECT_EQ(Send(FUSE_RELEASE, cmdline, release).header.error, 0);
    EXPECT_EQ(session.handle_count(), 0u);
    EXPECT_EQ(Send(FUSE_READ, cmdline, read).header.error, -EBADF);

    open.flags = O_WRONLY;
    EXPECT_EQ(Send(FUSE_OPEN, cmdline, open).header.error, -EROFS);
}

TEST_F(FuseSessionTest, LookupRejectsBadNamesAndUnknownNodes) {
    Init();
    EXPECT_EQ(Send(FUSE_LOOKUP, FUSE_ROOT_ID, "1", 1).header.error, -EINVAL);  // no NUL
    EXPECT_EQ(SendName(FUSE_LOOKUP, FUSE_ROOT_ID, "1/cmdline").header.error, -ENOENT);
    EXPECT_EQ(SendName(FUSE_LOOKUP, FUSE_ROOT_ID, "..").header.error, -ENOENT);
    EXPECT_EQ(SendName(FUSE_LOOKUP, FUSE_ROOT_ID, std::string(300, 'a')).header.error, -ENAMETOOLONG);
    EXPECT_EQ(SendName(FUSE_LOOKUP, FUSE_ROOT_ID, "sock").header.error, -ENOENT);  // not a dir, file or link
    EXPECT_EQ(SendName(FUSE_LOOKUP, 12345, "x").header.error, -ESTALE);
    EXPECT_EQ(Send(FUSE_GETATTR, 12345, nullptr, 0).header.error, -ESTALE);
}

TEST_F(FuseSessionTest, ReadDirListsPlainNamesWithOffsets) {
    Init();
    auto opened = Send(FUSE_OPENDIR, FUSE_ROOT_ID, fuse_open_in{});
    ASSERT_EQ(opened.header.error, 0);
    fuse_read_in read{};
    read.fh = opened.As<fuse_open_out>().fh;
    read.size = 4096;
    auto r = Send(FUSE_READDIR, FUSE_ROOT_ID, read);
    std::vector<std::string> names;
    uint64_t last_off = 0;
    for (size_t at = 0; at + FUSE_NAME_OFFSET <= r.payload.size();) {
        fuse_dirent d;
        std::memcpy(&d, r.payload.data() + at, FUSE_NAME_OFFSET);
        names.emplace_back(reinterpret_cast<const char*>(r.payload.data() + at + FUSE_NAME_OFFSET), d.namelen);
        EXPECT_GT(d.off, last_off);
        last_off = d.off;
        at += FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);
    }
    EXPECT_EQ(names, (std::vector<std::string>{".", "..", "1", "self"}));  // "bad/name" dropped
    read.offset = last_off;
    EXPECT_TRUE(Send(FUSE_READDIR, FUSE_ROOT_ID, read).payload.empty());
    // A buffer too small for one entry gets none.
    read.offset = 0;
    read.size = 8;
    EXPECT_TRUE(Send(FUSE_READDIR, FUSE_ROOT_ID, read).payload.empty());
}

TEST_F(FuseSessionTest, ReadLinkIsWellFormed) {
    Init();
    EXPECT_EQ(Send(FUSE_READLINK, Lookup(FUSE_ROOT_ID, "self"), nullptr, 0).text(), "1");
    EXPECT_EQ(Send(FUSE_READLINK, Lookup(FUSE_ROOT_ID, "evil"), nullptr, 0).header.error, -EIO);
}

TEST_F(FuseSessionTest, ForgetDropsNodes) {
    Init();
    uint64_t pid = Lookup(FUSE_ROOT_ID, "1");
    Lookup(FUSE_ROOT_ID, "1");
    uint64_t cmdline = Lookup(pid, "cmdline");
    EXPECT_EQ(session.node_count(), 3u);
    fuse_forget_in forget{};
    forget.nlookup = 1;
    EXPECT_FALSE(Send(FUSE_FORGET, pid, forget).present);  // no reply
    EXPECT_EQ(session.node_count(), 3u);                  // one lookup left
    struct {
        fuse_batch_forget_in in;
        fuse_forget_one one[2];
    } batch{};
    batch.in.count = 1000;  // more than the body holds: only the two present are used
    batch.one[0] = {pid, 1};
    batch.one[1] = {cmdline, 1};
    EXPECT_FALSE(Send(FUSE_BATCH_FORGET, 0, batch).present);
    EXPECT_EQ(session.node_count(), 1u);  // the root stays
    EXPECT_EQ(Send(FUSE_GETATTR, pid, nullptr, 0).header.error, -ESTALE);
    EXPECT_EQ(Send(FUSE_GETATTR, FUSE_ROOT_ID, nullptr, 0).header.error, 0);
}

TEST_F(FuseSessionTest, InterruptIsIgnoredAndStatfsAnswers) {
    Init();
    EXPECT_FALSE(Send(FUSE_INTERRUPT, 0, fuse_interrupt_in{}).present);
    auto r = Send(FUSE_STATFS, FUSE_ROOT_ID, nullptr, 0);
    EXPECT_EQ(r.header.error, 0);
    EXPECT_EQ(r.As<fuse_statfs_out>().st.namelen, 255u);
    fuse_access_in access{};
    access.mask = W_OK;
    EXPECT_EQ(Send(FUSE_ACCESS, FUSE_ROOT_ID, access).header.error, -EROFS);
}

}  // namespace
}  // namespace moat::fs::procfuse
