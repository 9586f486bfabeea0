#include "sentry/cli/oci_exec_request.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <linux/capability.h>

namespace moat::cli {
namespace {

std::optional<OciProcess> Parse(const std::string& request, std::string* error) {
    return ParseExecRequest(request, error);
}

TEST(ExecRequestTest, AFullRequestRoundTrips) {
    OciProcess p;
    p.args = {"id", "-u"};
    p.env = {"PATH=/bin", "A=1"};
    p.cwd = "/tmp";
    p.uid = 1000;
    p.gid = 100;
    p.additional_gids = {5, 6};
    p.umask = 027;
    p.rlimits = {{RLIMIT_NOFILE, 64, 128}};
    p.capabilities = OciCapabilities{};
    p.capabilities->bounding = p.capabilities->permitted = p.capabilities->inheritable = 1ull << CAP_NET_BIND_SERVICE;
    p.capabilities->ambient = 1ull << CAP_NET_BIND_SERVICE;
    p.no_new_privileges = true;
    std::string error;
    auto back = Parse(OciProcessJson(p).dump(), &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->args, p.args);
    EXPECT_EQ(back->env, p.env);
    EXPECT_EQ(back->cwd, "/tmp");
    EXPECT_EQ(back->uid, 1000u);
    EXPECT_EQ(back->gid, 100u);
    EXPECT_EQ(back->additional_gids, p.additional_gids);
    EXPECT_EQ(back->umask, 027u);
    ASSERT_EQ(back->rlimits.size(), 1u);
    EXPECT_EQ(back->rlimits[0].soft, 64u);
    ASSERT_TRUE(back->capabilities);
    EXPECT_EQ(back->capabilities->ambient, 1ull << CAP_NET_BIND_SERVICE);
    EXPECT_EQ(back->capabilities->effective, 0u);
    EXPECT_TRUE(back->no_new_privileges);
    kernel::InitProcess proc = InitProcessOf(*back);
    ASSERT_TRUE(proc.credentials);
    EXPECT_EQ(proc.credentials->euid, 1000u);
    EXPECT_EQ(proc.credentials->caps.ambient, 1ull << CAP_NET_BIND_SERVICE);
    ASSERT_EQ(proc.rlimits.size(), 1u);
    EXPECT_EQ(proc.rlimits[0].hard, 128u);
}

// The first protocol's requests ({args, env, cwd}) still mean root with every capability.
TEST(ExecRequestTest, AMinimalRequestIsRootWithEveryCapability) {
    std::string error;
    auto p = Parse(R"({"args": ["sh"], "env": ["PATH=/bin"], "cwd": "/"})", &error);
    ASSERT_TRUE(p) << error;
    kernel::InitProcess proc = InitProcessOf(*p);
    EXPECT_EQ(proc.credentials->euid, 0u);
    EXPECT_EQ(proc.credentials->caps.effective, kernel::kAllCapabilities);
}

TEST(ExecRequestTest, MalformedJsonIsAnError) {
    for (const char* bad : {"", "{", "[1, 2", "not json", "\"args\"", "null", "[]", "{\"args\": [\"a\"]} trailing",
                            "{\"args\": [\"\xff\"]}"}) {
        std::string error;
        EXPECT_FALSE(Parse(bad, &error)) << bad;
        EXPECT_EQ(error.rfind("bad exec request", 0), 0u) << error;
    }
}

TEST(ExecRequestTest, WrongTypesAreErrorsNamingTheField) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"args": "sh"})", "process.args"},
        {R"({"args": ["sh", 1]})", "process.args"},
        {R"({"args": ["sh"], "env": {"A": "1"}})", "process.env"},
        {R"({"args": ["sh"], "cwd": 5})", "process.cwd"},
        {R"({"args": ["sh"], "user": []})", "process.user"},
        {R"({"args": ["sh"], "user": {"uid": "0"}})", "process.user.uid"},
        {R"({"args": ["sh"], "user": {"uid": -1}})", "process.user.uid"},
        {R"({"args": ["sh"], "user": {"uid": 1.5}})", "process.user.uid"},
        {R"({"args": ["sh"], "user": {"gid": 4294967295}})", "process.user.gid"},
        {R"({"args": ["sh"], "user": {"uid": 18446744073709551615}})", "process.user.uid"},
        {R"({"args": ["sh"], "user": {"additionalGids": [1, -2]}})", "process.user.additionalGids"},
        {R"({"args": ["sh"], "noNewPrivileges": 1})", "process.noNewPrivileges"},
        {R"({"args": ["sh"], "terminal": "yes"})", "process.terminal"},
        {R"({"args": ["sh"], "capabilities": {"effective": "CAP_KILL"}})", "process.capabilities.effective"},
        {R"({"args": ["sh"], "rlimits": {"type": "RLIMIT_NOFILE"}})", "process.rlimits"},
        {R"({"args": ["sh"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": "1"}]})", "RLIMIT_NOFILE"},
    };
    for (const auto& [request, field] : cases) {
        std::string error;
        EXPECT_FALSE(Parse(request, &error)) << request;
        EXPECT_NE(error.find(field), std::string::npos) << request << ": " << error;
    }
}

TEST(ExecRequestTest, InvalidValuesAreErrors) {
    for (const char* bad : {
             R"({"args": []})",
             R"({"args": [""]})",
             R"({"env": ["A=1"]})",
             R"({"args": ["sh"], "cwd": "tmp"})",
             R"({"args": ["sh"], "env": ["NOEQUALS"]})",
             R"({"args": ["sh"], "env": ["=value"]})",
             R"({"args": ["s\u0000h"]})",
             R"({"args": ["sh"], "cwd": "/a\u0000b"})",
             R"({"args": ["sh"], "capabilities": {"bounding": ["CAP_NOT_YET_INVENTED"]}})",
             R"({"args": ["sh"], "rlimits": [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]})",
             R"({"args": ["sh"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]})",
             R"({"args": ["sh"], "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 2, "soft": 1},
                                             {"type": "RLIMIT_NOFILE", "hard": 2, "soft": 1}]})",
         }) {
        std::string error;
        EXPECT_FALSE(Parse(bad, &error)) << bad;
        EXPECT_FALSE(error.empty());
    }
}

TEST(ExecRequestTest, HugeAndDeepRequestsAreRefused) {
    std::string error;
    std::string deep = R"({"args": ["sh"], "x": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
    EXPECT_FALSE(Parse(deep, &error));
    EXPECT_NE(error.find("nested"), std::string::npos) << error;
    // Brackets inside strings do not count.
    EXPECT_TRUE(Parse(R"({"args": ["sh", "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{"]})", &error)) << error;

    std::string many = R"({"args": [)";
    for (size_t i = 0; i <= kMaxExecStrings; ++i)
        many += i ? ",\"a\"" : "\"a\"";
    many += "]}";
    EXPECT_FALSE(Parse(many, &error));
    EXPECT_NE(error.find("process.args"), std::string::npos) << error;

    std::string gids = R"({"args": ["sh"], "user": {"additionalGids": [)";
    for (size_t i = 0; i <= kMaxExecGroups; ++i)
        gids += i ? ",1" : "1";
    gids += "]}}";
    EXPECT_FALSE(Parse(gids, &error));

    EXPECT_FALSE(Parse(R"({"args": ["sh"], "pad": ")" + std::string(kMaxExecRequest, 'x') + "\"}", &error));
    EXPECT_NE(error.find("too large"), std::string::npos) << error;
}

TEST(ExecRequestTest, UnknownFieldsAreIgnored) {
    std::string error;
    EXPECT_TRUE(Parse(R"({"args": ["sh"], "apparmorProfile": "x", "selinuxLabel": "y", "new": {"a": [1]}})", &error))
        << error;
}

TEST(ExecRequestTest, TheLastValueOfANameWins) {
    OciProcess p;
    p.args = {"sh"};
    p.env = {"PATH=/a", "X=1", "PATH=/b"};
    EXPECT_EQ(InitProcessOf(p).envp, (std::vector<std::string>{"X=1", "PATH=/b"}));
}

// runc's exec without --process: the container's process under the flags.
TEST(ExecFlagsTest, FlagsOverrideTheContainersProcess) {
    OciProcess base;
    base.args = {"sleep", "30"};
    base.env = {"PATH=/bin", "HOME=/root"};
    base.uid = 5;
    base.gid = 6;
    base.capabilities = OciCapabilities{};
    base.capabilities->bounding = base.capabilities->effective = base.capabilities->permitted = 1ull << CAP_KILL;
    OciArgs args;
    args.command = {"id", "-u"};
    args.env = {"HOME=/home/u"};
    args.user = "1000:1000";
    args.additional_gids = {7};
    args.caps = {"CAP_CHOWN", "net_raw"};
    args.no_new_privs = true;
    std::string error;
    auto p = ExecProcessFromFlags(args, base, &error);
    ASSERT_TRUE(p) << error;
    EXPECT_EQ(p->args, args.command);
    EXPECT_EQ(p->uid, 1000u);
    EXPECT_EQ(p->gid, 1000u);
    EXPECT_EQ(p->additional_gids, std::vector<uint32_t>{7});
    uint64_t want = (1ull << CAP_KILL) | (1ull << CAP_CHOWN) | (1ull << CAP_NET_RAW);
    EXPECT_EQ(p->capabilities->effective, want);
    EXPECT_EQ(p->capabilities->ambient, 0u);  // no inheritable set: no ambient (runc)
    EXPECT_TRUE(p->no_new_privileges);
    EXPECT_EQ(InitProcessOf(*p).envp, (std::vector<std::string>{"PATH=/bin", "HOME=/home/u"}));

    args.user = "42";  // the container's gid stays
    p = ExecProcessFromFlags(args, base, &error);
    ASSERT_TRUE(p) << error;
    EXPECT_EQ(p->uid, 42u);
    EXPECT_EQ(p->gid, 6u);
}

TEST(ExecFlagsTest, BadFlagsAreErrors) {
    OciProcess base;
    base.args = {"sh"};
    for (const char* user : {"root", "1000:", ":5", "-1", "4294967295", "1:2:3"}) {
        OciArgs args;
        args.command = {"true"};
        args.user = user;
        std::string error;
        EXPECT_FALSE(ExecProcessFromFlags(args, base, &error)) << user;
    }
    OciArgs args;
    args.command = {"true"};
    args.caps = {"CAP_BOGUS"};
    std::string error;
    EXPECT_FALSE(ExecProcessFromFlags(args, base, &error));
    args.caps.clear();
    args.env = {"NOEQUALS"};
    EXPECT_FALSE(ExecProcessFromFlags(args, base, &error));
    args.env.clear();
    args.command.clear();
    EXPECT_FALSE(ExecProcessFromFlags(args, base, &error));
}

}  // namespace
}  // namespace moat::cli
