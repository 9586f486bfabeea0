#pragma once
// LineDiscipline: Linux's N_TTY for one terminal — what happens to bytes typed into it (the
// pty master's writes) before a reader sees them, and to bytes written to it before they reach
// the screen (the master's reads).
//
// Input (Receive): ISTRIP, IUCLC, IXON/IXANY flow control, ISIG (INTR/QUIT/SUSP become signals
// for the foreground group), IGNCR/ICRNL/INLCR, and in canonical mode (ICANON) line editing:
// ERASE, WERASE, KILL, LNEXT, REPRINT, EOF, EOL/EOL2; echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHONL,
// ECHOCTL). The read buffer holds N_TTY_BUF_SIZE (4096) characters; in canonical mode a line
// keeps at most 4095 of them (the rest are dropped until the newline), as termios(7) says.
// Reads: canonical mode returns at most one line per read (an EOF mark ends a line without
// being returned; alone it reads as end of file), raw mode returns what is there.
// Output (ProcessOutput): OPOST with ONLCR, OCRNL, ONOCR, ONLRET, OLCUC, XTABS, with the column
// tracking the tab and erase echoes need.
//
// Not thread-safe: the owner (Pty) calls it with its own lock held. Blocking, VMIN/VTIME and
// job control are the owner's too.

#include "fs/tty/termios.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace moat::fs {

// A bounded byte queue: the terminal's output waiting for the master to read it.
class ByteQueue {
public:
    explicit ByteQueue(size_t capacity) : m_capacity(capacity) {}
    size_t size() const { return m_data.size(); }
    bool empty() const { return m_data.empty(); }
    size_t room() const { return m_data.size() < m_capacity ? m_capacity - m_data.size() : 0; }
    // Appends if it fits entirely (false otherwise).
    bool Push(std::span<const uint8_t> bytes);
    // Removes and returns at most `max` bytes from the front.
    std::vector<uint8_t> Take(size_t max);
    // Copies at most `max` bytes from the front; Drop(n) removes them.
    std::vector<uint8_t> Peek(size_t max) const;
    void Drop(size_t n);
    void Clear() { m_data.clear(); }

private:
    size_t m_capacity;
    std::deque<uint8_t> m_data;
};

class LineDiscipline {
public:
    static constexpr size_t kBufSize = 4096;  // N_TTY_BUF_SIZE

    // What input processing asks of the terminal besides storing characters.
    struct Effects {
        std::vector<int> signals;    // for the foreground process group, in order
        bool stop_output = false;    // IXON: STOP seen (output stopped)
        bool start_output = false;   // IXON: START (or any character with IXANY) seen
    };

    // Processes `in` under settings `t`: characters for readers, echoes into `echo` (after output
    // processing; dropped when `echo` is full). Returns how many bytes were consumed: fewer
    // than `in.size()` only when the read buffer is full (the rest waits for a reader).
    // `output_stopped` is the terminal's flow-control state (for IXANY).
    size_t Receive(const KernelTermios& t, std::span<const uint8_t> in, ByteQueue& echo, bool output_stopped,
                   Effects& fx);

    // Whether a read would return now: canonical mode a complete line (or an EOF mark), raw mode
    // at least `min` characters.
    bool Readable(const KernelTermios& t, size_t min = 1) const;
    // Bytes a read could take now (FIONREAD): canonical mode complete lines without EOF marks.
    size_t Available(const KernelTermios& t) const;
    // Moves readable bytes into `out`: canonical mode up to the end of one line, raw mode up to
    // out.size(). Returns the count (canonical 0 with Readable() true: end of file).
    size_t Read(const KernelTermios& t, std::span<uint8_t> out);
    // Drops everything typed and not yet read (TCIFLUSH, ISIG).
    void Flush();
    // Called after the settings changed from `old` to `now` (ICANON switches).
    void SettingsChanged(const KernelTermios& old, const KernelTermios& now);
    // Whether there is room for one more character (raw mode) or line (canonical mode).
    bool Full(const KernelTermios& t) const;

    // OPOST output processing of `in` into `out`. Returns how many input bytes were consumed:
    // stops when `out` has no room for a character's expansion.
    size_t ProcessOutput(const KernelTermios& t, std::span<const uint8_t> in, ByteQueue& out);

private:
    struct Char {
        uint8_t c;
        bool delim;  // ends a canonical line (newline, EOL, EOL2, EOF)
        bool eof;    // the EOF mark: ends a line, never returned
    };

    void ReceiveChar(const KernelTermios& t, uint8_t c, ByteQueue& echo, bool output_stopped, Effects& fx);
    void ReceiveNormal(const KernelTermios& t, uint8_t c, ByteQueue& echo);
    void Store(const KernelTermios& t, Char ch);
    void EndLine(const KernelTermios& t, Char ch);
    void Erase(const KernelTermios& t, uint8_t c, ByteQueue& echo);
    void EraseTab(const KernelTermios& t, ByteQueue& echo);
    void Reprint(const KernelTermios& t, uint8_t c, ByteQueue& echo);
    // Echo helpers: one character after output processing, or ^X for control characters.
    void EchoRaw(const KernelTermios& t, uint8_t c, ByteQueue& echo);
    void EchoChar(const KernelTermios& t, uint8_t c, ByteQueue& echo);
    void NoteLineStart() {
        if (m_buf.size() == m_canon_end)
            m_canon_column = m_column;
    }
    // One output character; false when `out` lacks room.
    bool OutputChar(const KernelTermios& t, uint8_t c, ByteQueue& out);

    std::deque<Char> m_buf;   // typed, not yet read
    size_t m_canon_end = 0;   // m_buf[0, m_canon_end) are complete lines
    bool m_lnext = false;     // the next character is literal (LNEXT)
    unsigned m_column = 0;    // output column (tabs and erase echoes)
    unsigned m_canon_column = 0;  // the column where the line being edited started
};

}  // namespace moat::fs
