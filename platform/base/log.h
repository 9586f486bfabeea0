#pragma once
// Sentry logging: debug lines go to the --debug-log file (off by default); warnings to stderr.

#include <fmt/format.h>

#include <string_view>

namespace moat::log {

bool debug_enabled();
void set_debug_file(int fd);  // takes ownership; -1 disables
void write_debug(std::string_view line);
void write_warning(std::string_view line);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (debug_enabled())
        write_debug(fmt::format(f, std::forward<Args>(args)...));
}

template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    write_warning(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace moat::log
