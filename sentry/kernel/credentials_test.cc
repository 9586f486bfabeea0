#include "sentry/kernel/credentials.h"

#include <gtest/gtest.h>

namespace moat::kernel {
namespace {

constexpr uint64_t Bit(int cap) { return CapabilityBit(cap); }

Credentials User(uid_t uid) {
    Credentials c;
    c.ruid = c.euid = c.suid = c.fsuid = uid;
    return c;
}

TEST(CredentialsTest, RootExecGainsBoundingAndInheritable) {
    Credentials c;
    c.caps = {0, Bit(CAP_KILL), Bit(CAP_KILL), Bit(CAP_KILL) | Bit(CAP_CHOWN), 0};
    ApplyExecToCapabilities(c);
    EXPECT_EQ(c.caps.permitted, Bit(CAP_KILL) | Bit(CAP_CHOWN));
    EXPECT_EQ(c.caps.effective, c.caps.permitted);
    EXPECT_TRUE(c.HasCapability(CAP_CHOWN));
}

TEST(CredentialsTest, NoNewPrivsKeepsRootExecWithinPermitted) {
    Credentials c;
    c.caps = {0, Bit(CAP_KILL), Bit(CAP_KILL), Bit(CAP_KILL) | Bit(CAP_CHOWN), 0};
    c.no_new_privs = true;
    ApplyExecToCapabilities(c);
    EXPECT_EQ(c.caps.permitted, Bit(CAP_KILL));
}

TEST(CredentialsTest, NonRootExecKeepsOnlyAmbient) {
    Credentials c = User(1000);
    uint64_t net = Bit(CAP_NET_BIND_SERVICE);
    c.caps = {net, net | Bit(CAP_CHOWN), net | Bit(CAP_CHOWN), kAllCapabilities, net};
    ApplyExecToCapabilities(c);
    EXPECT_EQ(c.caps.permitted, net);
    EXPECT_EQ(c.caps.effective, net);
    EXPECT_FALSE(c.HasCapability(CAP_CHOWN));
    EXPECT_TRUE(c.HasCapability(CAP_NET_BIND_SERVICE));
}

TEST(CredentialsTest, LeavingRootDropsCapabilities) {
    Credentials old;
    Credentials c = old;
    c.ruid = c.euid = c.suid = c.fsuid = 1000;
    FixCapabilitiesAfterSetuid(c, old);
    EXPECT_EQ(c.caps.permitted, 0u);
    EXPECT_EQ(c.caps.effective, 0u);
    EXPECT_EQ(c.caps.bounding, kAllCapabilities);
}

TEST(CredentialsTest, KeepCapsKeepsPermittedButNotEffective) {
    Credentials old;
    old.keep_caps = true;
    Credentials c = old;
    c.ruid = c.euid = c.suid = c.fsuid = 1000;
    FixCapabilitiesAfterSetuid(c, old);
    EXPECT_EQ(c.caps.permitted, kAllCapabilities);
    EXPECT_EQ(c.caps.effective, 0u);
}

TEST(CredentialsTest, EffectiveUidRoundTripRestoresEffective) {
    Credentials old;
    Credentials c = old;
    c.euid = c.fsuid = 1000;  // seteuid(1000): saved uid still 0
    FixCapabilitiesAfterSetuid(c, old);
    EXPECT_EQ(c.caps.effective, 0u);
    EXPECT_EQ(c.caps.permitted, kAllCapabilities);
    Credentials back = c;
    back.euid = back.fsuid = 0;
    FixCapabilitiesAfterSetuid(back, c);
    EXPECT_EQ(back.caps.effective, kAllCapabilities);
}

}  // namespace
}  // namespace moat::kernel
