#include "fs/tty/line_discipline.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>

namespace moat::fs {
namespace {

class LineDisciplineTest : public ::testing::Test {
protected:
    // Types `in`; returns the echo.
    std::string Type(const std::string& in) {
        ByteQueue echo(1 << 16);
        auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size());
        consumed = ldisc.Receive(t, bytes, echo, false, fx);
        auto out = echo.Take(echo.size());
        return std::string(out.begin(), out.end());
    }
    std::string Read(size_t max = 8192) {
        std::string buf(max, '\0');
        size_t n = ldisc.Read(t, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), max));
        buf.resize(n);
        return buf;
    }

    KernelTermios t = StandardTermios();
    LineDiscipline ldisc;
    LineDiscipline::Effects fx;
    size_t consumed = 0;
};

TEST_F(LineDisciplineTest, CanonicalLineKeeps4095Characters) {
    Type(std::string(5000, 'a'));
    EXPECT_EQ(consumed, 5000u);  // input goes on being processed (and dropped)
    EXPECT_FALSE(ldisc.Readable(t));
    Type("\n");
    std::string line = Read();
    EXPECT_EQ(line.size(), 4096u);
    EXPECT_EQ(line.back(), '\n');
}

TEST_F(LineDisciplineTest, RawBufferFillsAt4096AndStopsConsuming) {
    t.c_lflag &= ~(ICANON | ECHO);
    Type(std::string(5000, 'b'));
    EXPECT_EQ(consumed, LineDiscipline::kBufSize);
    EXPECT_TRUE(ldisc.Full(t));
    EXPECT_EQ(ldisc.Available(t), 4096u);
}

TEST_F(LineDisciplineTest, EraseATabBacksUpToItsColumn) {
    // "ab" then a tab (to column 8): erasing the tab moves back 6 columns.
    EXPECT_EQ(Type("ab\t"), "ab\t");
    EXPECT_EQ(Type("\x7f"), std::string(6, '\b'));
    EXPECT_EQ(Type("\x7f"), "\b \b");
    Type("\n");
    EXPECT_EQ(Read(), "a\n");
}

TEST_F(LineDisciplineTest, KillEchoesPerCharacterWithEchoke) {
    EXPECT_EQ(Type("xy\x15"), "xy\b \b\b \b");
    t.c_lflag &= ~ECHOKE;
    EXPECT_EQ(Type("z\x15"), "z^U\r\n");  // ECHOK without ECHOKE: the KILL char and a newline
}

TEST_F(LineDisciplineTest, SignalsFlushAndEcho) {
    Type("abc");
    EXPECT_EQ(Type("\x1c"), "^\\");
    ASSERT_EQ(fx.signals.size(), 1u);
    EXPECT_EQ(fx.signals[0], SIGQUIT);
    Type("\n");
    EXPECT_EQ(Read(), "\n");  // "abc" was flushed
    t.c_lflag |= NOFLSH;
    Type("d\x1a\n");
    EXPECT_EQ(fx.signals.back(), SIGTSTP);
    EXPECT_EQ(Read(), "d\n");
}

TEST_F(LineDisciplineTest, LiteralNextAndFlowControl) {
    EXPECT_EQ(Type("\x16\x03"), "^\b^C");  // LNEXT: ^C is data
    EXPECT_TRUE(fx.signals.empty());
    Type("\x13");
    EXPECT_TRUE(fx.stop_output);
    fx = {};
    Type("\x11");
    EXPECT_TRUE(fx.start_output);
    Type("\n");
    EXPECT_EQ(Read(), "\x03\n");
}

TEST_F(LineDisciplineTest, OutputProcessing) {
    ByteQueue out(64);
    auto put = [&](const std::string& s) {
        ldisc.ProcessOutput(t, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()), out);
        auto v = out.Take(out.size());
        return std::string(v.begin(), v.end());
    };
    EXPECT_EQ(put("a\nb"), "a\r\nb");
    t.c_oflag |= OCRNL | XTABS;
    EXPECT_EQ(put("\r\tx"), "\n       x");  // column 1 → the tab fills 7 spaces
    t.c_oflag = OPOST | OLCUC;
    EXPECT_EQ(put("up"), "UP");
    // No room for CR NL: nothing taken.
    ByteQueue tiny(1);
    t.c_oflag = OPOST | ONLCR;
    EXPECT_EQ(ldisc.ProcessOutput(t, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("\n"), 1), tiny), 0u);
}

}  // namespace
}  // namespace moat::fs
