#pragma once
// The bytes of Moat's vDSO (vdso.so, built from vdso.c by CMakeLists.txt in this folder).
// The file's bytes are its memory image: one PT_LOAD at vaddr 0, no relocations.

extern "C" {
extern const unsigned char moat_vdso_image[];
extern const unsigned long moat_vdso_image_size;
}
