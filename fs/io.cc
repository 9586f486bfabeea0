#include "fs/io.h"

#include <algorithm>
#include <cstring>

namespace moat::fs {

Result<size_t> BufferDst::Put(std::span<const uint8_t> src) {
    size_t n = std::min(src.size(), remaining());
    if (n)
        memcpy(m_buf.data() + m_done, src.data(), n);
    m_done += n;
    return n;
}

Result<size_t> BufferSrc::Take(std::span<uint8_t> dst) {
    size_t n = std::min(dst.size(), remaining());
    if (n)
        memcpy(dst.data(), m_buf.data() + m_done, n);
    m_done += n;
    return n;
}

}  // namespace moat::fs
