// UnixSocket without a task (no blocking: a wait is EAGAIN): queues, accounting, release.

#include "net/unix/unix_socket.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <cstring>
#include <sys/un.h>

namespace moat::net {
namespace {

std::shared_ptr<UnixSpace> NewSpace() {
    auto counter = std::make_shared<std::atomic<uint64_t>>(100);
    return std::make_shared<UnixSpace>([counter] { return counter->fetch_add(1); });
}

size_t Send(UnixSocket& s, const std::string& text) {
    fs::BufferSrc src(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    SendRequest req;
    req.data = &src;
    auto r = s.SendMsg(req);
    return r.ok() ? *r : 0;
}

TEST(UnixSocketTest, StreamPairCarriesBytesAndChargesTheSender) {
    auto space = NewSpace();
    auto [a, b] = UnixSocket::CreatePair(space, SOCK_STREAM, 1, 2, false);
    EXPECT_EQ(Send(*a, "hello"), 5u);
    EXPECT_EQ(*b->BytesReadable(), 5);
    uint8_t buf[8];
    fs::BufferDst dst(buf);
    auto r = b->RecvMsg(dst, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->bytes, 5u);
    EXPECT_EQ(memcmp(buf, "hello", 5), 0);
    // Empty again: no task to block, so EAGAIN.
    fs::BufferDst again(buf);
    EXPECT_EQ(b->RecvMsg(again, 0).error(), EAGAIN);
}

TEST(UnixSocketTest, ClosingOneEndHangsUpTheOther) {
    auto space = NewSpace();
    auto [a, b] = UnixSocket::CreatePair(space, SOCK_STREAM, 1, 2, false);
    EXPECT_EQ(Send(*b, "unread"), 6u);
    a.reset();  // with unread data: the peer gets ECONNRESET, then EOF
    uint8_t buf[8];
    fs::BufferDst dst(buf);
    EXPECT_EQ(b->RecvMsg(dst, 0).error(), ECONNRESET);
    fs::BufferDst dst2(buf);
    EXPECT_EQ(b->RecvMsg(dst2, 0)->bytes, 0u);
    EXPECT_NE(b->Readiness(0) & POLLHUP, 0u);
}

TEST(UnixSocketTest, AutobindNamesAreDistinctAndFreedOnClose) {
    auto space = NewSpace();
    SockAddr empty(offsetof(sockaddr_un, sun_path), '\0');
    empty[0] = AF_UNIX;
    auto s1 = UnixSocket::Create(space, SOCK_DGRAM, 1, false);
    auto s2 = UnixSocket::Create(space, SOCK_DGRAM, 2, false);
    ASSERT_TRUE(s1->Bind(empty).ok());
    ASSERT_TRUE(s2->Bind(empty).ok());
    SockAddr n1 = *s1->GetName();
    EXPECT_EQ(n1.size(), offsetof(sockaddr_un, sun_path) + 6);
    EXPECT_NE(n1, *s2->GetName());
    s1.reset();
    std::lock_guard lock(space->lock());
    EXPECT_EQ(space->FindAbstract(n1), nullptr);
}

}  // namespace
}  // namespace moat::net
