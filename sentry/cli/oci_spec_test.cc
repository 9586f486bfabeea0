#include "sentry/cli/oci_spec.h"
#include "sentry/cli/oci_spec_fields.h"

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace moat::cli {
namespace {

// A bundle in a fresh directory with CONFIG as its config.json and an empty rootfs.
class OciSpecTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/moat-oci-spec.XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
        std::filesystem::create_directory(m_dir + "/rootfs");
    }
    void TearDown() override { std::filesystem::remove_all(m_dir); }

    std::optional<OciSpec> Load(const std::string& process_extra, const std::string& top_extra = "") {
        std::ofstream(m_dir + "/config.json")
            << R"({"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["sh"])" << process_extra
            << "}" << top_extra << "}";
        m_error.clear();
        return LoadOciSpec(m_dir, &m_error);
    }

    std::string m_dir, m_error;
};

TEST_F(OciSpecTest, UserWithGroupsAndUmask) {
    auto spec = Load(R"(, "user": {"uid": 1000, "gid": 100, "additionalGids": [5, 6], "umask": 63})");
    ASSERT_TRUE(spec) << m_error;
    EXPECT_EQ(spec->process.uid, 1000u);
    EXPECT_EQ(spec->process.gid, 100u);
    EXPECT_EQ(spec->process.additional_gids, (std::vector<uint32_t>{5, 6}));
    EXPECT_EQ(spec->process.umask, 077u);
    auto opts = ToDoOptions(*spec, &m_error);
    ASSERT_TRUE(opts);
    ASSERT_TRUE(opts->init_credentials);
    EXPECT_EQ(opts->init_credentials->euid, 1000u);
    EXPECT_EQ(opts->init_credentials->groups, (std::vector<gid_t>{5, 6}));
    EXPECT_EQ(opts->init_credentials->caps.effective, 0u);  // no capabilities listed, not root
}

TEST_F(OciSpecTest, UserOfTheWrongTypeIsNamed) {
    EXPECT_FALSE(Load(R"(, "user": {"uid": "root"})"));
    EXPECT_NE(m_error.find("process.user.uid"), std::string::npos) << m_error;
    EXPECT_FALSE(Load(R"(, "user": {"uid": 0, "additionalGids": "5"})"));
    EXPECT_NE(m_error.find("process.user.additionalGids"), std::string::npos) << m_error;
}

TEST_F(OciSpecTest, Rlimits) {
    auto spec = Load(R"(, "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 512}])");
    ASSERT_TRUE(spec) << m_error;
    ASSERT_EQ(spec->process.rlimits.size(), 1u);
    EXPECT_EQ(spec->process.rlimits[0].resource, RLIMIT_NOFILE);
    EXPECT_EQ(spec->process.rlimits[0].soft, 512u);
    EXPECT_EQ(spec->process.rlimits[0].hard, 2048u);
}

TEST_F(OciSpecTest, InvalidRlimitTypeIsAnError) {
    EXPECT_FALSE(Load(R"(, "rlimits": [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}])"));
    EXPECT_NE(m_error.find("invalid rlimit type RLIMIT_BOGUS"), std::string::npos) << m_error;
    EXPECT_FALSE(Load(R"(, "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}])"));
}

TEST_F(OciSpecTest, CapabilitiesAndNoNewPrivileges) {
    auto spec = Load(R"(, "noNewPrivileges": true, "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"],
                     "effective": ["CAP_KILL"], "permitted": ["CAP_KILL", "CAP_NOT_YET_INVENTED"]})");
    ASSERT_TRUE(spec) << m_error;
    ASSERT_TRUE(spec->process.capabilities);
    EXPECT_EQ(spec->process.capabilities->bounding, (1ull << CAP_KILL) | (1ull << CAP_CHOWN));
    EXPECT_EQ(spec->process.capabilities->permitted, 1ull << CAP_KILL);
    EXPECT_EQ(spec->process.capabilities->inheritable, 0u);
    EXPECT_TRUE(spec->process.no_new_privileges);
    auto opts = ToDoOptions(*spec, &m_error);
    ASSERT_TRUE(opts);
    EXPECT_TRUE(opts->init_credentials->no_new_privs);
    EXPECT_EQ(opts->init_credentials->caps.effective, 1ull << CAP_KILL);
    EXPECT_FALSE(Load(R"(, "capabilities": {"bounding": "CAP_KILL"})"));
    EXPECT_NE(m_error.find("process.capabilities.bounding"), std::string::npos) << m_error;
}

TEST_F(OciSpecTest, NoCapabilitiesMeansEveryCapabilityForRoot) {
    auto spec = Load("");
    ASSERT_TRUE(spec) << m_error;
    auto opts = ToDoOptions(*spec, &m_error);
    ASSERT_TRUE(opts);
    EXPECT_EQ(opts->init_credentials->caps.effective, kernel::kAllCapabilities);
}

TEST_F(OciSpecTest, PathsAndResources) {
    auto spec = Load(R"(, "consoleSize": {"height": 40, "width": 120})",
                     R"(, "linux": {"maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
                         "resources": {"memory": {"limit": 268435456}, "cpu": {"quota": 150000, "period": 100000}}})");
    ASSERT_TRUE(spec) << m_error;
    EXPECT_EQ(spec->masked_paths, std::vector<std::string>{"/proc/kcore"});
    EXPECT_EQ(spec->readonly_paths, std::vector<std::string>{"/proc/sys"});
    ASSERT_TRUE(spec->process.console_size);
    EXPECT_EQ(spec->process.console_size->height, 40u);
    EXPECT_EQ(spec->process.console_size->width, 120u);
    auto opts = ToDoOptions(*spec, &m_error);
    ASSERT_TRUE(opts);
    EXPECT_EQ(opts->memory_limit, 268435456u);
    EXPECT_EQ(opts->cpus, 2u);  // 1.5 CPUs, rounded up
    EXPECT_FALSE(Load("", R"(, "linux": {"maskedPaths": "/proc/kcore"})"));
    EXPECT_NE(m_error.find("linux.maskedPaths"), std::string::npos) << m_error;
}

TEST_F(OciSpecTest, UnknownFieldsAreIgnored) {
    EXPECT_TRUE(Load(R"(, "apparmorProfile": "x", "somethingNew": {"a": 1})", R"(, "vm": {"hypervisor": {}})"))
        << m_error;
}

TEST(CpusetCountTest, Lists) {
    EXPECT_EQ(CpusetCount("0-1"), 2u);
    EXPECT_EQ(CpusetCount("0-1,3"), 3u);
    EXPECT_EQ(CpusetCount("5"), 1u);
    EXPECT_FALSE(CpusetCount("1-0"));
    EXPECT_FALSE(CpusetCount("x"));
    EXPECT_FALSE(CpusetCount("0,"));
}

}  // namespace
}  // namespace moat::cli
