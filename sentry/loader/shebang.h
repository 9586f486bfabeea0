#pragma once
// `#!` scripts, as Linux's fs/binfmt_script.c parses them.

#include "platform/base/result.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace moat::loader {

// Linux allows 4 levels of interpreter rewrites before ELOOP (fs/exec.c, exec_binprm).
inline constexpr int kMaxShebangDepth = 4;

struct Shebang {
    std::string interpreter;
    std::optional<std::string> arg;  // everything after the interpreter, trimmed, as one argument
};

bool HasShebangMagic(std::span<const uint8_t> head);

// Parses the first line of a script from `head`: the first min(file size, 256) bytes of the
// file (Linux's BINPRM_BUF_SIZE). ENOEXEC when it is not a `#!` line, names no interpreter,
// or the interpreter path is cut off by the 256-byte limit.
Result<Shebang> ParseShebang(std::span<const uint8_t> head);

// argv after the rewrite: [interpreter, arg?, script filename, argv[1..]].
std::vector<std::string> ShebangArgv(const Shebang& shebang, const std::string& filename,
                                     const std::vector<std::string>& argv);

}  // namespace moat::loader
