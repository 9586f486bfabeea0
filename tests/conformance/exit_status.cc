// Guest helper for the `exit` conformance cases: argv picks how the process ends.
//   exit N                   exit(N)
//   return N                 return N from main
//   exit_group N             raw exit_group(N)
//   exit_thread N            raw exit(N) from the only thread: ends the process with N
//   print_then_exit N        "flushed" on stdout without newline, then exit(N): stdio is flushed
//   print_then_exit_group N  "lost" buffered on stdout, then raw exit_group(N): nothing is printed
//   segv                     write through a null pointer (SIGSEGV: a shell reports 139)
//   abort                    abort() (SIGABRT: 134)
// Anything else exits 99 after a usage line, so a typo can never look like a pass.

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: exit_status MODE [N]\n");
        return 99;
    }
    char const* mode = argv[1];
    int const n = argc > 2 ? atoi(argv[2]) : 0;
    // No core files from the signal cases.
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);

    if (!strcmp(mode, "exit")) exit(n);
    if (!strcmp(mode, "return")) return n;
    if (!strcmp(mode, "exit_group")) syscall(SYS_exit_group, n);
    if (!strcmp(mode, "exit_thread")) syscall(SYS_exit, n);
    if (!strcmp(mode, "print_then_exit")) {
        setvbuf(stdout, nullptr, _IOFBF, 4096);
        fputs("flushed", stdout);
        exit(n);
    }
    if (!strcmp(mode, "print_then_exit_group")) {
        setvbuf(stdout, nullptr, _IOFBF, 4096);
        fputs("lost", stdout);
        syscall(SYS_exit_group, n);
    }
    if (!strcmp(mode, "segv")) {
        *static_cast<int volatile*>(nullptr) = 1;
    }
    if (!strcmp(mode, "abort")) abort();
    fprintf(stderr, "exit_status: unknown mode %s\n", mode);
    return 99;
}
