// The ptrace stub: the only code a stub process ever runs besides the application's.
//
// moat_stub_enter runs in the freshly forked child, still inside the sentry's copy of its
// address space. It maps one page at the stub base, copies [moat_stub_start, moat_stub_end)
// there, makes it r-x and jumps to it. From the mmap on it touches no memory but that page
// and the sentry text it is running from: the stub page may land on top of the child's copy
// of the sentry stack (the host's stack randomisation can put it there), so no stack is used.
//
// The copied code is position-independent and uses no stack at all. It unmaps everything
// below and above itself (the sentry's copy, the stack, the host vDSO) and stops itself with
// SIGSTOP; the sentry's address-space thread, already its tracer (PTRACE_TRACEME), takes
// over from there and only ever points the instruction pointer at the two sites below.
//
// Offsets of the sites are read by C++ through the global labels (stub_layout.h).

#include <asm/unistd_64.h>

#define PAGE_SIZE 4096
#define SIGSTOP 19
#define PROT_RW 3
#define PROT_RX 5
#define MAP_PRIVATE_ANON_FIXED 0x32

    .section .text.moat_stub, "ax", @progbits

// void moat_stub_enter(uint64_t stub_base, uint64_t user_top) -- never returns.
    .globl moat_stub_enter
    .hidden moat_stub_enter
    .type moat_stub_enter, @function
moat_stub_enter:
    mov %rdi, %r15                      // r15 = stub base (kept for the copied code)
    mov %rsi, %r14                      // r14 = top of the user address space
    mov %r15, %rdi
    mov $PAGE_SIZE, %esi
    mov $PROT_RW, %edx
    mov $MAP_PRIVATE_ANON_FIXED, %r10d
    mov $-1, %r8
    xor %r9d, %r9d
    mov $__NR_mmap, %eax
    syscall
    cmp %r15, %rax
    jne 9f
    lea moat_stub_start(%rip), %rsi
    lea moat_stub_end(%rip), %rcx
    sub %rsi, %rcx
    mov %r15, %rdi
    cld
    rep movsb
    mov %r15, %rdi
    mov $PAGE_SIZE, %esi
    mov $PROT_RX, %edx
    mov $__NR_mprotect, %eax
    syscall
    test %rax, %rax
    jnz 9f
    jmp *%r15
9:  mov $126, %edi
    mov $__NR_exit_group, %eax
    syscall
    ud2
    .size moat_stub_enter, .-moat_stub_enter

// Everything from here to moat_stub_end is copied to the stub page.
    .balign 16
    .globl moat_stub_start
    .hidden moat_stub_start
moat_stub_start:
    // munmap(0, stub_base)
    xor %edi, %edi
    mov %r15, %rsi
    mov $__NR_munmap, %eax
    syscall
    // munmap(stub_base + PAGE_SIZE, user_top - stub_base - PAGE_SIZE)
    lea PAGE_SIZE(%r15), %rdi
    mov %r14, %rsi
    sub %rdi, %rsi
    mov $__NR_munmap, %eax
    syscall
    // kill(getpid(), SIGSTOP), forever: the tracer never resumes us here on purpose.
1:  mov $__NR_getpid, %eax
    syscall
    mov %rax, %rdi
    mov $SIGSTOP, %esi
    mov $__NR_kill, %eax
    syscall
    jmp 1b

// Injection site: the tracer sets rax/args, rip here, and continues until the int3.
    .balign 16
    .globl moat_stub_syscall
    .hidden moat_stub_syscall
moat_stub_syscall:
    syscall
    int3

// Clone site: the parent traps with the child's tid in rax; the child (rax == 0) parks in
// poll(NULL, 0, -1) untraced until its context's host thread seizes it (poll rather than
// pause: the sentry's host filter already allows poll).
    .balign 16
    .globl moat_stub_clone
    .hidden moat_stub_clone
moat_stub_clone:
    syscall
    test %rax, %rax
    jz 2f
    int3
2:  mov $__NR_poll, %eax
    xor %edi, %edi
    xor %esi, %esi
    mov $-1, %edx
    syscall
    jmp 2b

    .globl moat_stub_end
    .hidden moat_stub_end
moat_stub_end:

    .section .note.GNU-stack, "", @progbits
