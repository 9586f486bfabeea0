// `#!` parsing, matching Linux's fs/binfmt_script.c (v5.1+): the interpreter path must not
// be truncated by the 256-byte buffer, the optional argument may be (the interpreter can
// re-read the script), spaces and tabs separate, and the rest of the line is one argument.

#include "sentry/loader/shebang.h"

#include "sentry/loader/elf.h"

#include <algorithm>
#include <array>

namespace moat::loader {

namespace {

bool SpaceTab(char c) { return c == ' ' || c == '\t'; }

// Index of the first byte in [first, last] that is not a space/tab, or -1.
long NextNonSpaceTab(const char* buf, long first, long last) {
    for (; first <= last; ++first)
        if (!SpaceTab(buf[first]))
            return first;
    return -1;
}

// Index of the first byte in [first, last] that is a space/tab/NUL, or -1.
long NextTerminator(const char* buf, long first, long last) {
    for (; first <= last; ++first)
        if (SpaceTab(buf[first]) || buf[first] == '\0')
            return first;
    return -1;
}

// The C string starting at buf[from], stopping at `to` or the first NUL.
std::string CString(const char* buf, long from, long to) {
    const char* end = std::find(buf + from, buf + to, '\0');
    return std::string(buf + from, end);
}

}  // namespace

bool HasShebangMagic(std::span<const uint8_t> head) { return head.size() >= 2 && head[0] == '#' && head[1] == '!'; }

Result<Shebang> ParseShebang(std::span<const uint8_t> head) {
    if (!HasShebangMagic(head))
        return Error(ENOEXEC);
    // Linux's bprm->buf: the file's first bytes, NUL-padded when the file is shorter.
    std::array<char, kBinprmBufSize> buf{};
    std::copy_n(head.begin(), std::min(head.size(), buf.size()), buf.begin());
    const char* b = buf.data();
    const long buf_end = long(buf.size()) - 1;

    long i_end;
    const char* nl = std::find(b, b + buf.size(), '\n');
    if (nl != b + buf.size()) {
        i_end = nl - b;
    } else {
        long first = NextNonSpaceTab(b, 2, buf_end);
        if (first < 0)
            return Error(ENOEXEC);  // the whole buffer is spaces/tabs
        // No later space/tab/NUL: the interpreter path may be truncated.
        if (NextTerminator(b, first, buf_end) < 0)
            return Error(ENOEXEC);
        i_end = buf_end;
    }
    // Trim trailing spaces/tabs (never past the "#!").
    while (i_end > 2 && SpaceTab(b[i_end - 1]))
        --i_end;

    long i_name = NextNonSpaceTab(b, 2, i_end);
    if (i_name < 0 || i_name == i_end)
        return Error(ENOEXEC);  // no interpreter name

    Shebang out;
    long i_sep = NextTerminator(b, i_name, i_end);
    long name_end = i_end;
    if (i_sep >= 0 && i_sep < i_end) {
        name_end = i_sep;
        if (b[i_sep] != '\0') {
            long i_arg = NextNonSpaceTab(b, i_sep, i_end);
            if (i_arg >= 0 && i_arg < i_end)
                out.arg = CString(b, i_arg, i_end);
        }
    }
    out.interpreter = CString(b, i_name, name_end);
    if (out.interpreter.empty())
        return Error(ENOEXEC);
    return out;
}

std::vector<std::string> ShebangArgv(const Shebang& shebang, const std::string& filename,
                                     const std::vector<std::string>& argv) {
    std::vector<std::string> out;
    out.reserve(argv.size() + 2);
    out.push_back(shebang.interpreter);
    if (shebang.arg)
        out.push_back(*shebang.arg);
    out.push_back(filename);
    // remove_arg_zero: the script's own argv[0] is replaced by its filename.
    for (size_t i = 1; i < argv.size(); ++i)
        out.push_back(argv[i]);
    return out;
}

}  // namespace moat::loader
