#include "fs/tty/line_discipline.h"

#include <signal.h>

#include <algorithm>
#include <cctype>

namespace moat::fs {

namespace {

// A special character is enabled unless set to _POSIX_VDISABLE (0).
bool Is(const KernelTermios& t, uint8_t c, int index) { return t.c_cc[index] != 0 && c == t.c_cc[index]; }

bool IsCntrl(uint8_t c) { return c < 0x20 || c == 0x7f; }

}  // namespace

bool ByteQueue::Push(std::span<const uint8_t> bytes) {
    if (bytes.size() > room())
        return false;
    m_data.insert(m_data.end(), bytes.begin(), bytes.end());
    return true;
}

std::vector<uint8_t> ByteQueue::Take(size_t max) {
    size_t n = std::min(max, m_data.size());
    std::vector<uint8_t> out(m_data.begin(), m_data.begin() + static_cast<ptrdiff_t>(n));
    m_data.erase(m_data.begin(), m_data.begin() + static_cast<ptrdiff_t>(n));
    return out;
}

std::vector<uint8_t> ByteQueue::Peek(size_t max) const {
    size_t n = std::min(max, m_data.size());
    return std::vector<uint8_t>(m_data.begin(), m_data.begin() + static_cast<ptrdiff_t>(n));
}

void ByteQueue::Drop(size_t n) {
    n = std::min(n, m_data.size());
    m_data.erase(m_data.begin(), m_data.begin() + static_cast<ptrdiff_t>(n));
}

uint32_t BaudOf(uint32_t cflag) {
    static constexpr uint32_t kLow[] = {0,   50,   75,   110,  134,  150,  200,   300,
                                        600, 1200, 1800, 2400, 4800, 9600, 19200, 38400};
    static constexpr uint32_t kHigh[] = {0,      57600,   115200,  230400,  460800,  500000,
                                         576000, 921600,  1000000, 1152000, 1500000, 2000000,
                                         2500000, 3000000, 3500000, 4000000};
    uint32_t code = cflag & CBAUD;
    if (code & CBAUDEX)
        return kHigh[code & 017];
    return kLow[code & 017];
}

// ---- Input ----

bool LineDiscipline::Full(const KernelTermios& t) const {
    if (t.c_lflag & ICANON)
        // Room is kept for a line's end; only complete lines waiting for a reader stop input.
        return m_buf.size() >= kBufSize - 1 && m_canon_end > 0;
    return m_buf.size() >= kBufSize;
}

size_t LineDiscipline::Receive(const KernelTermios& t, std::span<const uint8_t> in, ByteQueue& echo,
                               bool output_stopped, Effects& fx) {
    size_t n = 0;
    for (; n < in.size(); ++n) {
        if (Full(t))
            break;
        ReceiveChar(t, in[n], echo, output_stopped || fx.stop_output, fx);
    }
    return n;
}

void LineDiscipline::ReceiveChar(const KernelTermios& t, uint8_t c, ByteQueue& echo, bool output_stopped,
                                 Effects& fx) {
    const uint32_t lflag = t.c_lflag, iflag = t.c_iflag;
    if (iflag & ISTRIP)
        c &= 0x7f;
    if ((iflag & IUCLC) && (lflag & IEXTEN))
        c = static_cast<uint8_t>(tolower(c));
    if (m_lnext) {
        m_lnext = false;
        ReceiveNormal(t, c, echo);
        return;
    }
    if (iflag & IXON) {
        if (Is(t, c, VSTART)) {
            fx.start_output = true;
            fx.stop_output = false;
            return;
        }
        if (Is(t, c, VSTOP)) {
            fx.stop_output = true;
            fx.start_output = false;
            return;
        }
    }
    if (lflag & ISIG) {
        int signo = Is(t, c, VINTR) ? SIGINT : Is(t, c, VQUIT) ? SIGQUIT : Is(t, c, VSUSP) ? SIGTSTP : 0;
        if (signo) {
            fx.signals.push_back(signo);
            if (!(lflag & NOFLSH))
                Flush();
            if (iflag & IXON) {
                fx.start_output = true;
                fx.stop_output = false;
            }
            if (lflag & ECHO)
                EchoChar(t, c, echo);
            return;
        }
    }
    if (output_stopped && (iflag & IXON) && (iflag & IXANY)) {
        fx.start_output = true;
        fx.stop_output = false;
    }
    if (c == '\r') {
        if (iflag & IGNCR)
            return;
        if (iflag & ICRNL)
            c = '\n';
    } else if (c == '\n' && (iflag & INLCR)) {
        c = '\r';
    }
    if (lflag & ICANON) {
        if (Is(t, c, VERASE) || Is(t, c, VKILL) || (Is(t, c, VWERASE) && (lflag & IEXTEN))) {
            Erase(t, c, echo);
            return;
        }
        if (Is(t, c, VLNEXT) && (lflag & IEXTEN)) {
            m_lnext = true;
            if ((lflag & ECHO) && (lflag & ECHOCTL)) {
                EchoRaw(t, '^', echo);
                EchoRaw(t, '\b', echo);
            }
            return;
        }
        if (Is(t, c, VREPRINT) && (lflag & ECHO) && (lflag & IEXTEN)) {
            Reprint(t, c, echo);
            return;
        }
        if (c == '\n') {
            if (lflag & (ECHO | ECHONL))
                EchoRaw(t, '\n', echo);
            EndLine(t, Char{c, true, false});
            return;
        }
        if (Is(t, c, VEOF)) {
            EndLine(t, Char{0, true, true});
            return;
        }
        if (Is(t, c, VEOL) || (Is(t, c, VEOL2) && (lflag & IEXTEN))) {
            if (lflag & ECHO) {
                NoteLineStart();
                EchoChar(t, c, echo);
            }
            EndLine(t, Char{c, true, false});
            return;
        }
    }
    ReceiveNormal(t, c, echo);
}

void LineDiscipline::ReceiveNormal(const KernelTermios& t, uint8_t c, ByteQueue& echo) {
    if (t.c_lflag & ECHO) {
        if (c == '\n') {
            EchoRaw(t, '\n', echo);
        } else {
            NoteLineStart();
            EchoChar(t, c, echo);
        }
    }
    Store(t, Char{c, false, false});
}

void LineDiscipline::Store(const KernelTermios& t, Char ch) {
    if (t.c_lflag & ICANON) {
        // 4095 characters per line at most: the last slot is kept for the line's end.
        if (m_buf.size() >= kBufSize - 1)
            return;
    } else if (m_buf.size() >= kBufSize) {
        return;
    }
    m_buf.push_back(ch);
}

void LineDiscipline::EndLine(const KernelTermios&, Char ch) {
    if (m_buf.size() >= kBufSize)
        m_buf.pop_back();  // a full line loses its last character to its end (n_tty's overflow)
    m_buf.push_back(ch);
    m_canon_end = m_buf.size();
}

void LineDiscipline::Erase(const KernelTermios& t, uint8_t c, ByteQueue& echo) {
    const uint32_t lflag = t.c_lflag;
    if (m_buf.size() == m_canon_end)
        return;
    enum { kErase, kWerase, kKill } kind;
    if (Is(t, c, VERASE)) {
        kind = kErase;
    } else if (Is(t, c, VWERASE)) {
        kind = kWerase;
    } else {
        if (!(lflag & ECHO)) {
            m_buf.resize(m_canon_end);
            return;
        }
        if (!(lflag & ECHOK) || !(lflag & ECHOKE) || !(lflag & ECHOE)) {
            m_buf.resize(m_canon_end);
            EchoChar(t, c, echo);
            if (lflag & ECHOK)
                EchoRaw(t, '\n', echo);
            return;
        }
        kind = kKill;
    }
    unsigned seen_alnums = 0;
    while (m_buf.size() > m_canon_end) {
        uint8_t last = m_buf.back().c;
        if (kind == kWerase) {
            // BSD's ALTWERASE: a word is letters, digits and underscores.
            if (isalnum(last) || last == '_')
                ++seen_alnums;
            else if (seen_alnums)
                break;
        }
        m_buf.pop_back();
        if (lflag & ECHO) {
            if (kind == kErase && !(lflag & ECHOE)) {
                EchoChar(t, t.c_cc[VERASE], echo);
            } else if (last == '\t') {
                EraseTab(t, echo);
            } else {
                int times = (IsCntrl(last) ? 0 : 1) + (IsCntrl(last) && (lflag & ECHOCTL) ? 1 : 0);
                for (int i = 0; i < times; ++i)
                    for (uint8_t e : {'\b', ' ', '\b'})
                        EchoRaw(t, e, echo);
            }
        }
        if (kind == kErase)
            break;
    }
}

void LineDiscipline::EraseTab(const KernelTermios& t, ByteQueue& echo) {
    // The columns the text since the line start (or the previous tab) takes decide how far the
    // tab reached.
    unsigned num_chars = 0;
    bool after_tab = false;
    for (size_t i = m_buf.size(); i > m_canon_end; --i) {
        uint8_t c = m_buf[i - 1].c;
        if (c == '\t') {
            after_tab = true;
            break;
        }
        if (IsCntrl(c))
            num_chars += (t.c_lflag & ECHOCTL) ? 2 : 0;
        else
            ++num_chars;
    }
    if (!after_tab)
        num_chars += m_canon_column;
    unsigned num_bs = 8 - (num_chars & 7);
    num_bs = std::min(num_bs, m_column);
    for (unsigned i = 0; i < num_bs; ++i) {
        if (echo.Push(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("\b"), 1)) && m_column > 0)
            --m_column;
    }
}

void LineDiscipline::Reprint(const KernelTermios& t, uint8_t c, ByteQueue& echo) {
    EchoChar(t, c, echo);
    EchoRaw(t, '\n', echo);
    for (size_t i = m_canon_end; i < m_buf.size(); ++i)
        EchoChar(t, m_buf[i].c, echo);
}

void LineDiscipline::EchoRaw(const KernelTermios& t, uint8_t c, ByteQueue& echo) {
    if (t.c_oflag & OPOST) {
        (void)OutputChar(t, c, echo);
        return;
    }
    (void)echo.Push(std::span<const uint8_t>(&c, 1));
}

void LineDiscipline::EchoChar(const KernelTermios& t, uint8_t c, ByteQueue& echo) {
    if ((t.c_lflag & ECHOCTL) && IsCntrl(c) && c != '\t' && c != '\n') {
        const uint8_t caret[2] = {'^', static_cast<uint8_t>(c ^ 0100)};
        if (echo.Push(caret))
            m_column += 2;
        return;
    }
    EchoRaw(t, c, echo);
}

// ---- Reading ----

bool LineDiscipline::Readable(const KernelTermios& t, size_t min) const {
    if (t.c_lflag & ICANON)
        return m_canon_end > 0;
    return m_buf.size() >= std::max<size_t>(min, 1);
}

size_t LineDiscipline::Available(const KernelTermios& t) const {
    if (!(t.c_lflag & ICANON))
        return m_buf.size();
    size_t n = 0;
    for (size_t i = 0; i < m_canon_end; ++i)
        n += m_buf[i].eof ? 0 : 1;
    return n;
}

size_t LineDiscipline::Read(const KernelTermios& t, std::span<uint8_t> out) {
    size_t n = 0;
    if (!(t.c_lflag & ICANON)) {
        while (n < out.size() && !m_buf.empty()) {
            out[n++] = m_buf.front().c;
            m_buf.pop_front();
        }
        m_canon_end = m_canon_end > n ? m_canon_end - n : 0;
        return n;
    }
    size_t taken = 0;
    while (taken < m_canon_end) {
        const Char ch = m_buf[taken];
        if (ch.eof) {
            ++taken;  // consumed, never returned
            break;
        }
        if (n == out.size())
            break;
        out[n++] = ch.c;
        ++taken;
        if (ch.delim)
            break;
    }
    m_buf.erase(m_buf.begin(), m_buf.begin() + static_cast<ptrdiff_t>(taken));
    m_canon_end -= taken;
    return n;
}

void LineDiscipline::Flush() {
    m_buf.clear();
    m_canon_end = 0;
    m_lnext = false;
}

void LineDiscipline::SettingsChanged(const KernelTermios& old, const KernelTermios& now) {
    bool was_canon = old.c_lflag & ICANON, canon = now.c_lflag & ICANON;
    if (was_canon == canon)
        return;
    if (!canon || m_buf.empty()) {
        m_canon_end = 0;
    } else {
        // Raw input typed before the switch reads as one line (n_tty_set_termios).
        m_buf.back().delim = true;
        m_canon_end = m_buf.size();
    }
    m_lnext = false;
}

// ---- Output ----

bool LineDiscipline::OutputChar(const KernelTermios& t, uint8_t c, ByteQueue& out) {
    const uint32_t oflag = t.c_oflag;
    switch (c) {
    case '\n':
        if (oflag & ONLRET)
            m_column = 0;
        if (oflag & ONLCR) {
            static constexpr uint8_t kCrLf[2] = {'\r', '\n'};
            if (!out.Push(kCrLf))
                return false;
            m_canon_column = m_column = 0;
            return true;
        }
        m_canon_column = m_column;
        break;
    case '\r':
        if ((oflag & ONOCR) && m_column == 0)
            return true;
        if (oflag & OCRNL) {
            c = '\n';
            if (oflag & ONLRET)
                m_canon_column = m_column = 0;
            break;
        }
        m_canon_column = m_column = 0;
        break;
    case '\t': {
        unsigned spaces = 8 - (m_column & 7);
        if ((oflag & TABDLY) == XTABS) {
            static constexpr uint8_t kSpaces[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
            if (!out.Push(std::span<const uint8_t>(kSpaces, spaces)))
                return false;
            m_column += spaces;
            return true;
        }
        if (out.room() < 1)
            return false;
        m_column += spaces;
        break;
    }
    case '\b':
        if (out.room() < 1)
            return false;
        if (m_column > 0)
            --m_column;
        break;
    default:
        if (out.room() < 1)
            return false;
        if (!IsCntrl(c)) {
            if (oflag & OLCUC)
                c = static_cast<uint8_t>(toupper(c));
            ++m_column;
        }
        break;
    }
    return out.Push(std::span<const uint8_t>(&c, 1));
}

size_t LineDiscipline::ProcessOutput(const KernelTermios& t, std::span<const uint8_t> in, ByteQueue& out) {
    if (!(t.c_oflag & OPOST)) {
        size_t n = std::min(in.size(), out.room());
        (void)out.Push(in.first(n));
        return n;
    }
    size_t n = 0;
    while (n < in.size() && OutputChar(t, in[n], out))
        ++n;
    return n;
}

}  // namespace moat::fs
