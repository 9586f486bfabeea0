// /proc/cpuinfo, built from CPUID as the sentry sees it (the app's CPUID is the same), one
// block per sandbox CPU.

#include "fs/proc/system_files.h"

#include "sentry/kernel/sched.h"

#include <cpuid.h>
#include <fmt/format.h>

#include <array>
#include <cstring>

namespace moat::fs::proc {

namespace {

struct CpuidRegs {
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs Cpuid(uint32_t leaf, uint32_t sub = 0) {
    CpuidRegs r;
    __cpuid_count(leaf, sub, r.eax, r.ebx, r.ecx, r.edx);
    return r;
}

struct FlagBit {
    uint8_t bit;
    const char* name;
};

// The common flags in Linux's order (arch/x86/include/asm/cpufeatures.h word by word).
constexpr FlagBit kLeaf1Edx[] = {{0, "fpu"},   {1, "vme"},   {2, "de"},      {3, "pse"},     {4, "tsc"},
                                 {5, "msr"},   {6, "pae"},   {7, "mce"},     {8, "cx8"},     {9, "apic"},
                                 {11, "sep"},  {12, "mtrr"}, {13, "pge"},    {14, "mca"},    {15, "cmov"},
                                 {16, "pat"},  {17, "pse36"}, {19, "clflush"}, {21, "dts"}, {22, "acpi"},
                                 {23, "mmx"},  {24, "fxsr"}, {25, "sse"},    {26, "sse2"},   {27, "ss"},
                                 {28, "ht"},   {29, "tm"},   {31, "pbe"}};
constexpr FlagBit kExt1Edx[] = {{11, "syscall"}, {20, "nx"}, {22, "mmxext"}, {25, "fxsr_opt"},
                                {26, "pdpe1gb"}, {27, "rdtscp"}, {29, "lm"}};
constexpr FlagBit kLeaf1Ecx[] = {{0, "pni"},     {1, "pclmulqdq"}, {2, "dtes64"}, {3, "monitor"}, {4, "ds_cpl"},
                                 {5, "vmx"},     {6, "smx"},       {7, "est"},    {8, "tm2"},     {9, "ssse3"},
                                 {11, "sdbg"},   {12, "fma"},      {13, "cx16"},  {14, "xtpr"},   {15, "pdcm"},
                                 {17, "pcid"},   {18, "dca"},      {19, "sse4_1"}, {20, "sse4_2"}, {21, "x2apic"},
                                 {22, "movbe"},  {23, "popcnt"},   {24, "tsc_deadline_timer"}, {25, "aes"},
                                 {26, "xsave"},  {28, "avx"},      {29, "f16c"},  {30, "rdrand"}, {31, "hypervisor"}};
constexpr FlagBit kExt1Ecx[] = {{0, "lahf_lm"}, {1, "cmp_legacy"}, {2, "svm"}, {3, "extapic"}, {4, "cr8_legacy"},
                                {5, "abm"},     {6, "sse4a"},      {7, "misalignsse"}, {8, "3dnowprefetch"},
                                {9, "osvw"},    {11, "xop"},       {16, "fma4"}, {21, "tbm"}, {22, "topoext"}};
constexpr FlagBit kLeaf7Ebx[] = {{0, "fsgsbase"}, {1, "tsc_adjust"}, {3, "bmi1"}, {4, "hle"}, {5, "avx2"},
                                 {7, "smep"},     {8, "bmi2"},     {9, "erms"},      {10, "invpcid"}, {11, "rtm"},
                                 {16, "avx512f"}, {17, "avx512dq"}, {18, "rdseed"},  {19, "adx"},     {20, "smap"},
                                 {21, "avx512ifma"}, {23, "clflushopt"}, {24, "clwb"}, {28, "avx512cd"},
                                 {29, "sha_ni"},  {30, "avx512bw"}, {31, "avx512vl"}};
constexpr FlagBit kLeaf7Ecx[] = {{1, "avx512vbmi"}, {2, "umip"},  {3, "pku"},  {4, "ospke"}, {6, "avx512_vbmi2"},
                                 {8, "gfni"},       {9, "vaes"},  {10, "vpclmulqdq"}, {11, "avx512_vnni"},
                                 {12, "avx512_bitalg"}, {14, "avx512_vpopcntdq"}, {16, "la57"}, {22, "rdpid"},
                                 {27, "movdiri"},   {28, "movdir64b"}};
constexpr FlagBit kLeaf7Edx[] = {{4, "fsrm"}, {10, "md_clear"}, {14, "serialize"}, {29, "arch_capabilities"}};

template <size_t N>
void AddFlags(std::string& out, uint32_t reg, const FlagBit (&table)[N]) {
    for (const auto& f : table)
        if (reg & (1u << f.bit)) {
            out += ' ';
            out += f.name;
        }
}

std::string Trim(std::string s) {
    size_t b = s.find_first_not_of(' ');
    size_t e = s.find_last_not_of(' ');
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

std::string CpuinfoText(int ncpus) {
    CpuidRegs l0 = Cpuid(0);
    char vendor[13] = {};
    std::memcpy(vendor, &l0.ebx, 4);
    std::memcpy(vendor + 4, &l0.edx, 4);
    std::memcpy(vendor + 8, &l0.ecx, 4);
    CpuidRegs l1 = Cpuid(1);
    uint32_t family = (l1.eax >> 8) & 0xf, model = (l1.eax >> 4) & 0xf, stepping = l1.eax & 0xf;
    if (family == 0xf)
        family += (l1.eax >> 20) & 0xff;
    if (family >= 6)
        model += ((l1.eax >> 16) & 0xf) << 4;

    uint32_t max_ext = Cpuid(0x80000000).eax;
    std::string brand = "unknown";
    if (max_ext >= 0x80000004) {
        std::array<uint32_t, 12> words{};
        for (uint32_t i = 0; i < 3; ++i) {
            CpuidRegs r = Cpuid(0x80000002 + i);
            words[i * 4] = r.eax, words[i * 4 + 1] = r.ebx, words[i * 4 + 2] = r.ecx, words[i * 4 + 3] = r.edx;
        }
        brand = Trim(std::string(reinterpret_cast<const char*>(words.data()), strnlen(reinterpret_cast<const char*>(words.data()), 48)));
    }
    std::string flags;
    AddFlags(flags, l1.edx, kLeaf1Edx);
    if (max_ext >= 0x80000001)
        AddFlags(flags, Cpuid(0x80000001).edx, kExt1Edx);
    AddFlags(flags, l1.ecx & ~(1u << 27), kLeaf1Ecx);  // OSXSAVE is not a cpuinfo flag
    if (max_ext >= 0x80000001)
        AddFlags(flags, Cpuid(0x80000001).ecx, kExt1Ecx);
    if (l0.eax >= 7) {
        CpuidRegs l7 = Cpuid(7);
        AddFlags(flags, l7.ebx, kLeaf7Ebx);
        AddFlags(flags, l7.ecx, kLeaf7Ecx);
        AddFlags(flags, l7.edx, kLeaf7Edx);
    }
    uint32_t phys_bits = 46, virt_bits = 48;
    if (max_ext >= 0x80000008) {
        CpuidRegs r = Cpuid(0x80000008);
        phys_bits = r.eax & 0xff;
        virt_bits = (r.eax >> 8) & 0xff;
    }
    // The nominal frequency from the brand string ("@ 2.50GHz"), else a plausible one.
    double mhz = 2000.0;
    if (auto at = brand.rfind("@ "); at != std::string::npos)
        if (double ghz = std::atof(brand.c_str() + at + 2); ghz > 0)
            mhz = ghz * 1000.0;

    std::string out;
    for (int cpu = 0; cpu < ncpus; ++cpu) {
        out += fmt::format("processor\t: {}\nvendor_id\t: {}\ncpu family\t: {}\nmodel\t\t: {}\nmodel name\t: {}\n"
                           "stepping\t: {}\nmicrocode\t: 0x1\ncpu MHz\t\t: {:.3f}\ncache size\t: 32768 KB\n"
                           "physical id\t: 0\nsiblings\t: {}\ncore id\t\t: {}\ncpu cores\t: {}\napicid\t\t: {}\n"
                           "initial apicid\t: {}\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {}\nwp\t\t: yes\n"
                           "flags\t\t:{}\nbugs\t\t:\nbogomips\t: {:.2f}\nclflush size\t: 64\ncache_alignment\t: 64\n"
                           "address sizes\t: {} bits physical, {} bits virtual\npower management:\n\n",
                           cpu, vendor, family, model, brand, stepping, mhz, ncpus, cpu, ncpus, cpu, cpu, l0.eax,
                           flags, mhz * 2, phys_bits, virt_bits);
    }
    return out;
}

}  // namespace moat::fs::proc
