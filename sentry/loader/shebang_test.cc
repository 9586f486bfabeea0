// `#!` line parsing (the cases of Linux's fs/binfmt_script.c).

#include "sentry/loader/shebang.h"

#include <gtest/gtest.h>

#include <string>

namespace moat::loader {
namespace {

Result<Shebang> P(const std::string& s) {
    return ParseShebang(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

TEST(LoaderShebang, InterpreterOnly) {
    auto r = P("#!/bin/sh\necho hi\n");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/bin/sh");
    EXPECT_FALSE(r->arg.has_value());
}

TEST(LoaderShebang, OneArgumentTrimmed) {
    auto r = P("#!  /bin/sh   -x  \t\nrest");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/bin/sh");
    ASSERT_TRUE(r->arg.has_value());
    EXPECT_EQ(*r->arg, "-x");
}

TEST(LoaderShebang, RestOfLineIsOneArgument) {
    auto r = P("#!/usr/bin/env python3 -u  -W x\n");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/usr/bin/env");
    ASSERT_TRUE(r->arg.has_value());
    EXPECT_EQ(*r->arg, "python3 -u  -W x");
}

TEST(LoaderShebang, TabSeparates) {
    auto r = P("#!\t/bin/bash\t-e\n");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/bin/bash");
    EXPECT_EQ(r->arg.value_or(""), "-e");
}

TEST(LoaderShebang, NoNewlineInShortFile) {
    auto r = P("#!/bin/sh -e");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/bin/sh");
    EXPECT_EQ(r->arg.value_or(""), "-e");
    r = P("#!/bin/sh");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/bin/sh");
    EXPECT_FALSE(r->arg.has_value());
}

TEST(LoaderShebang, CarriageReturnIsPartOfTheName) {
    // Linux only splits on spaces and tabs: a DOS line ending names "/bin/sh\r".
    auto r = P("#!/bin/sh\r\n");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/bin/sh\r");
}

TEST(LoaderShebang, MissingInterpreter) {
    EXPECT_EQ(P("#!\n").error(), ENOEXEC);
    EXPECT_EQ(P("#!   \t \nfoo").error(), ENOEXEC);
    EXPECT_EQ(P("#!").error(), ENOEXEC);
    EXPECT_EQ(P(std::string("#!\0/bin/sh\n", 11)).error(), ENOEXEC);
    EXPECT_EQ(P(std::string(300, ' ').insert(0, "#!")).error(), ENOEXEC);
    EXPECT_EQ(P("!#/bin/sh\n").error(), ENOEXEC);
    EXPECT_EQ(P("#").error(), ENOEXEC);
}

TEST(LoaderShebang, TruncatedInterpreterPathIsRejected) {
    // The path runs past the 256-byte buffer with no terminator: it may be cut off.
    std::string s = "#!/" + std::string(300, 'a') + "\n";
    EXPECT_EQ(P(s).error(), ENOEXEC);
    s = "#!   /" + std::string(300, 'a');
    EXPECT_EQ(P(s).error(), ENOEXEC);
}

TEST(LoaderShebang, TruncatedArgumentIsAccepted) {
    // A terminated path followed by an argument past 256 bytes: the argument is cut at the
    // buffer's end (the interpreter can re-read the script), as Linux does.
    std::string s = "#!/bin/sh " + std::string(400, 'x') + "\n";
    auto r = P(s);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/bin/sh");
    ASSERT_TRUE(r->arg.has_value());
    EXPECT_EQ(r->arg->size(), 256u - 10u - 1u);  // up to, not including, the last byte
}

TEST(LoaderShebang, ExactlyAtTheBufferLimit) {
    // A 253-byte path: "#!" + path + "\n" is 256 bytes, the newline is inside the buffer.
    std::string path = "/" + std::string(252, 'p');
    auto r = P("#!" + path + "\n");
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, path);
    // One byte longer: no newline in the buffer and no terminator after the path.
    EXPECT_EQ(P("#!" + path + "p\n").error(), ENOEXEC);
}

TEST(LoaderShebang, NulEndsTheLine) {
    auto r = P(std::string("#!/bin/sh\0 -x\n", 14));
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->interpreter, "/bin/sh");
    EXPECT_FALSE(r->arg.has_value());
}

TEST(LoaderShebang, RewritesArgv) {
    Shebang s{"/bin/sh", std::string("-e")};
    auto argv = ShebangArgv(s, "./script", {"script-argv0", "a", "b"});
    EXPECT_EQ(argv, (std::vector<std::string>{"/bin/sh", "-e", "./script", "a", "b"}));
    Shebang t{"/bin/sh", std::nullopt};
    argv = ShebangArgv(t, "/x/s", {"s"});
    EXPECT_EQ(argv, (std::vector<std::string>{"/bin/sh", "/x/s"}));
}

}  // namespace
}  // namespace moat::loader
