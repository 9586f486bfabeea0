#pragma once
// The kernel's terminal settings structures (TCGETS/TCSETS and TCGETS2/TCSETS2), not glibc's
// struct termios (which has a different size), and Linux's defaults for a new terminal.

#include <termios.h>

#include <cstdint>

namespace moat::fs {

inline constexpr int kNccs = 19;  // the kernel's NCCS

struct KernelTermios {
    uint32_t c_iflag = 0, c_oflag = 0, c_cflag = 0, c_lflag = 0;
    uint8_t c_line = 0;
    uint8_t c_cc[kNccs] = {};
};
static_assert(sizeof(KernelTermios) == 36);

struct KernelTermios2 {
    KernelTermios t;
    uint32_t c_ispeed = 0, c_ospeed = 0;
};
static_assert(sizeof(KernelTermios2) == 44);

// The termios2 requests (glibc's headers cannot name struct termios2 next to its termios).
inline constexpr uint32_t kTcGets2 = 0x802c542a;   // _IOR('T', 0x2A, struct termios2)
inline constexpr uint32_t kTcSets2 = 0x402c542b;   // _IOW('T', 0x2B, struct termios2)
inline constexpr uint32_t kTcSetsW2 = 0x402c542c;  // _IOW('T', 0x2C, struct termios2)
inline constexpr uint32_t kTcSetsF2 = 0x402c542d;  // _IOW('T', 0x2D, struct termios2)
inline constexpr uint32_t kBother = 010000;        // BOTHER: the speed is in c_[io]speed
inline constexpr int kIbShift = 16;                // IBSHIFT: where c_cflag keeps the input speed

// Linux's tty_std_termios as the pty slave driver sets it up (c_cflag without HUPCL): what a
// new pty slave starts with.
constexpr KernelTermios StandardTermios() {
    KernelTermios t;
    t.c_iflag = ICRNL | IXON;
    t.c_oflag = OPOST | ONLCR;
    t.c_cflag = B38400 | CS8 | CREAD;
    t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
    // INIT_C_CC: ^C ^\ DEL ^U ^D, VTIME 0, VMIN 1, VSWTC 0, ^Q ^S ^Z, VEOL 0, ^R ^O ^W ^V, VEOL2 0.
    const uint8_t cc[kNccs] = {003, 034, 0177, 025, 004, 0, 1, 0, 021, 023, 032, 0, 022, 017, 027, 026, 0};
    for (int i = 0; i < kNccs; ++i)
        t.c_cc[i] = cc[i];
    return t;
}

// The baud rate a c_cflag speed code stands for (termios2's c_ispeed/c_ospeed); 0 if unknown.
uint32_t BaudOf(uint32_t cflag);

}  // namespace moat::fs
