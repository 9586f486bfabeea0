// Guest helper for the exec and pgrp suites: argv picks what it does.
//   argv           prints argc, then each argv[i] on its own line, then $MOAT_TEST_VAR
//   fd N           exits 0 if fd N is open, 1 if not
//   exit N         exits N
//   read           reads stdin until EOF, exits 0
//   execfn         prints getauxval(AT_EXECFN), exits 0
//   timer N        exits 0 if POSIX timer N exists, 1 if not (EINVAL), 2 on another error
//   itimer W       exits 0 if setitimer's timer W (0 REAL, 1 VIRTUAL, 2 PROF) is armed, 1 if not
// With no mode (argc < 2, e.g. a NULL argv) it exits 9; an unknown mode exits 99.

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2)
        return 9;
    const char* mode = argv[1];
    if (!strcmp(mode, "argv")) {
        printf("%d\n", argc);
        for (int i = 0; i < argc; ++i)
            printf("%s\n", i == 0 ? "argv0" : argv[i]);
        const char* v = getenv("MOAT_TEST_VAR");
        printf("%s\n", v ? v : "(unset)");
        return 0;
    }
    if (!strcmp(mode, "fd") && argc > 2)
        return fcntl(atoi(argv[2]), F_GETFD) >= 0 ? 0 : 1;
    if (!strcmp(mode, "exit") && argc > 2)
        return atoi(argv[2]);
    if (!strcmp(mode, "execfn")) {
        const char* fn = reinterpret_cast<const char*>(getauxval(AT_EXECFN));
        printf("%s\n", fn ? fn : "(null)");
        return 0;
    }
    if (!strcmp(mode, "timer") && argc > 2) {
        struct itimerspec cur;
        if (syscall(SYS_timer_gettime, atol(argv[2]), &cur) == 0)
            return 0;
        return errno == EINVAL ? 1 : 2;
    }
    if (!strcmp(mode, "itimer") && argc > 2) {
        struct itimerval cur {};
        if (getitimer(static_cast<__itimer_which>(atoi(argv[2])), &cur) != 0)
            return 2;
        return cur.it_value.tv_sec || cur.it_value.tv_usec ? 0 : 1;
    }
    if (!strcmp(mode, "read")) {
        char buf[256];
        while (read(0, buf, sizeof(buf)) > 0) {
        }
        return 0;
    }
    return 99;
}
