// SCM_RIGHTS over unix sockets: passed fds refer to the same open file description, a short
// control buffer truncates (MSG_CTRUNC) and closes the rest, MSG_CMSG_CLOEXEC, a passed
// socket keeps working after the sender closes its fd, bad control messages.

#include "tests/conformance/unix_socket_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace moat::conformance {
namespace {

// Sends one byte with `fds` attached.
ssize_t SendFds(int sock, const std::vector<int>& fds) {
    char c = 'F';
    iovec iov{&c, 1};
    std::vector<char> control(CMSG_SPACE(fds.size() * sizeof(int)));
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.data();
    m.msg_controllen = control.size();
    cmsghdr* h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    memcpy(CMSG_DATA(h), fds.data(), fds.size() * sizeof(int));
    return sendmsg(sock, &m, 0);
}

struct Received {
    ssize_t bytes = -1;
    int flags = 0;
    std::vector<int> fds;
};

Received RecvFds(int sock, size_t control_size, int flags = 0) {
    Received r;
    char c;
    iovec iov{&c, 1};
    std::vector<char> control(control_size);
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control_size ? control.data() : nullptr;
    m.msg_controllen = control_size;
    r.bytes = recvmsg(sock, &m, flags);
    r.flags = m.msg_flags;
    if (r.bytes < 0)
        return r;
    for (cmsghdr* h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; ++i) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
            r.fds.push_back(fd);
        }
    }
    return r;
}

TEST(ScmRightsTest, SameOpenFileDescription) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(SendFds(a, {p[1]}), 1);
    close(p[1]);
    Received r = RecvFds(b, CMSG_SPACE(sizeof(int)));
    ASSERT_EQ(r.bytes, 1);
    EXPECT_EQ(r.flags, 0);
    ASSERT_EQ(r.fds.size(), 1u);
    Fd w(r.fds[0]);
    EXPECT_EQ(fcntl(w, F_GETFD), 0);
    // The received fd is the pipe's write end: status flags are shared with the original
    // description, so setting O_NONBLOCK here shows through a second passing.
    ASSERT_EQ(write(w, "via", 3), 3);
    char buf[8];
    ASSERT_EQ(read(p[0], buf, sizeof(buf)), 3);
    EXPECT_EQ(std::string(buf, 3), "via");
    ASSERT_EQ(fcntl(w, F_SETFL, O_NONBLOCK), 0);
    ASSERT_EQ(SendFds(a, {p[0]}), 1);
    Received r2 = RecvFds(b, CMSG_SPACE(sizeof(int)), MSG_CMSG_CLOEXEC);
    ASSERT_EQ(r2.fds.size(), 1u);
    Fd rd(r2.fds[0]);
    EXPECT_EQ(fcntl(rd, F_GETFD), FD_CLOEXEC);
    close(p[0]);
    // Last writer is the received fd: closing it gives EOF.
    w.reset();
    EXPECT_EQ(read(rd, buf, sizeof(buf)), 0);
}

TEST(ScmRightsTest, ShortControlBufferTruncates) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(SendFds(a, {p[0], p[1], p[0]}), 1);
    Received r = RecvFds(b, CMSG_SPACE(sizeof(int)));
    ASSERT_EQ(r.bytes, 1);
    EXPECT_EQ(r.flags & MSG_CTRUNC, MSG_CTRUNC);
    // CMSG_SPACE(sizeof(int)) has room for two ints after the header (the padding counts).
    ASSERT_EQ(r.fds.size(), 2u);
    close(r.fds[0]);
    close(r.fds[1]);
    // No control buffer at all: every fd is dropped.
    ASSERT_EQ(SendFds(a, {p[1]}), 1);
    Received none = RecvFds(b, 0);
    ASSERT_EQ(none.bytes, 1);
    EXPECT_EQ(none.flags, MSG_CTRUNC);
    EXPECT_TRUE(none.fds.empty());
    // The dropped write ends are closed: only ours is left.
    close(p[1]);
    char c;
    EXPECT_EQ(read(p[0], &c, 1), 0);
    close(p[0]);
}

TEST(ScmRightsTest, PassedSocketOutlivesSender) {
    int carrier[2], inner[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, carrier), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, inner), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(carrier[1]);
        close(inner[0]);
        int rc = SendFds(carrier[0], {inner[1]}) == 1 ? 0 : 1;
        _exit(rc);
    }
    close(carrier[0]);
    close(inner[1]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_EQ(status, 0);
    Received r = RecvFds(carrier[1], CMSG_SPACE(sizeof(int)));
    ASSERT_EQ(r.fds.size(), 1u);
    ASSERT_EQ(write(r.fds[0], "hi", 2), 2);
    char buf[4];
    EXPECT_EQ(read(inner[0], buf, sizeof(buf)), 2);
    close(r.fds[0]);
    EXPECT_EQ(read(inner[0], buf, sizeof(buf)), 0);
    close(inner[0]);
    close(carrier[1]);
}

TEST(ScmRightsTest, BadControlMessages) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    EXPECT_EQ(SendFds(a, {9999}), -1);
    EXPECT_EQ(errno, EBADF);
    std::vector<int> many(254, a.get());
    EXPECT_EQ(SendFds(a, many), -1);
    EXPECT_EQ(errno, EINVAL);
    // A cmsg_len running past the buffer.
    char c = 'x';
    iovec iov{&c, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof(control);
    cmsghdr* h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = sizeof(control) + 8;
    EXPECT_EQ(sendmsg(a, &m, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    // An unknown SOL_SOCKET type.
    h->cmsg_len = CMSG_LEN(sizeof(int));
    h->cmsg_type = 77;
    EXPECT_EQ(sendmsg(a, &m, 0), -1);
    EXPECT_EQ(errno, EINVAL);
    // Other levels are ignored.
    h->cmsg_level = 12345;
    EXPECT_EQ(sendmsg(a, &m, 0), 1);
}

TEST(ScmRightsTest, StreamStopsAfterFds) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Fd a(sv[0]), b(sv[1]);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(SendFds(a, {p[0]}), 1);
    ASSERT_EQ(write(a, "more", 4), 4);
    // A read does not run past a message that carried fds.
    char buf[16];
    iovec iov{buf, sizeof(buf)};
    char control[CMSG_SPACE(sizeof(int))];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof(control);
    ASSERT_EQ(recvmsg(b, &m, 0), 1);
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(fd));
    close(fd);
    EXPECT_EQ(read(b, buf, sizeof(buf)), 4);
    close(p[0]);
    close(p[1]);
}

}  // namespace
}  // namespace moat::conformance
