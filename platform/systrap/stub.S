// The systrap stub: the only code a stub process runs besides the application's, and the
// only place its host system calls are allowed from (the seccomp filters check the
// instruction pointer; see seccomp_filter.cc).
//
// moat_systrap_enter runs in the freshly forked child, inside the sentry's copy of its
// address space, and uses no stack (the host may have put the child's stack where the stub
// goes). It maps the code page(s) at SYSTRAP_CODE_BASE, copies [moat_systrap_start,
// moat_systrap_end) there and jumps to it. The copied code is position-independent.
//
// Three kinds of thread run this code:
// - the main thread (the *helper*): maps the shared region, unmaps everything else, installs
//   the stub's filter, then serves the sentry's requests (mmap, munmap, mprotect, clone) from
//   the mailbox in the shared region, forever;
// - a new application thread (made by the helper's clone): sets its altstack, unblocks
//   signals, installs the stricter per-thread filter and traps (int3) so that the sentry
//   finds it parked in the signal handler, ready for its first registers;
// - the signal handler of every application thread: publishes the frame the kernel wrote on
//   the altstack (inside the thread's slot), waits for the sentry to release it, and returns
//   through rt_sigreturn, which loads the registers the sentry wrote into the frame.
//
// Register use: r12 = the slot (or the request page), r13 = the reply page, r14 = the shared
// region's base (kept by every thread: clone copies it), r15 = the code base.

#include <asm/unistd_64.h>
#include "platform/systrap/stub_layout.h"

#define PROT_R 1
#define PROT_RW 3
#define PROT_RX 5
#define MAP_SHARED_FIXED 0x11
#define MAP_PRIVATE_ANON_FIXED 0x32
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define SECCOMP_SET_MODE_FILTER 1
#define SIG_SETMASK 2
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define CLONE_VM 0x100
#define PR_SET_PDEATHSIG 1
#define SIGKILL 9

    .section .text.moat_systrap, "ax", @progbits

// void moat_systrap_enter(code_base, shared_base, shared_size) -- never returns.
    .globl moat_systrap_enter
    .hidden moat_systrap_enter
    .type moat_systrap_enter, @function
moat_systrap_enter:
    mov %rdi, %r15
    mov %rsi, %r14
    mov %rdx, %r13
    mov %r15, %rdi
    mov $SYSTRAP_CODE_SIZE, %esi
    mov $PROT_RW, %edx
    mov $MAP_PRIVATE_ANON_FIXED, %r10d
    mov $-1, %r8
    xor %r9d, %r9d
    mov $__NR_mmap, %eax
    syscall
    cmp %r15, %rax
    jne 9f
    lea moat_systrap_start(%rip), %rsi
    lea moat_systrap_end(%rip), %rcx
    sub %rsi, %rcx
    mov %r15, %rdi
    cld
    rep movsb
    mov %r15, %rdi
    mov $SYSTRAP_CODE_SIZE, %esi
    mov $PROT_RX, %edx
    mov $__NR_mprotect, %eax
    syscall
    test %rax, %rax
    jnz 9f
    jmp *%r15
9:  mov $124, %edi
    mov $__NR_exit_group, %eax
    syscall
    ud2
    .size moat_systrap_enter, .-moat_systrap_enter

// Everything from here to moat_systrap_end is copied to the code page.
    .balign 16
    .globl moat_systrap_start
    .hidden moat_systrap_start
moat_systrap_start:
    // mmap(shared_base, shared_size, RW, MAP_SHARED|MAP_FIXED, kSharedFd, 0); close(kSharedFd)
    mov %r14, %rdi
    mov %r13, %rsi
    mov $PROT_RW, %edx
    mov $MAP_SHARED_FIXED, %r10d
    mov $4, %r8d
    xor %r9d, %r9d
    mov $__NR_mmap, %eax
    syscall
    cmp %r14, %rax
    jne .Lstart_failed
    mov $4, %edi
    mov $__NR_close, %eax
    syscall
    // The request page is the sentry's to write: read-only here.
    lea SYSTRAP_REQUEST_OFFSET(%r14), %rdi
    mov $SYSTRAP_PAGE_SIZE, %esi
    mov $PROT_R, %edx
    mov $__NR_mprotect, %eax
    syscall
    test %rax, %rax
    jnz .Lstart_failed
    // munmap(0, code_base): the sentry's copy, the stack, the host vDSO
    xor %edi, %edi
    mov %r15, %rsi
    mov $__NR_munmap, %eax
    syscall
    // munmap(code_end, shared_base - code_end)
    lea SYSTRAP_CODE_SIZE(%r15), %rdi
    mov %r14, %rsi
    sub %rdi, %rsi
    mov $__NR_munmap, %eax
    syscall
    // munmap(shared_end, user_top - shared_end)
    lea (%r14,%r13), %rdi
    mov $SYSTRAP_USER_TOP, %rsi
    sub %rdi, %rsi
    jbe 1f
    mov $__NR_munmap, %eax
    syscall
1:  // The stub's filter: from now on only this code may make system calls.
    mov $SECCOMP_SET_MODE_FILTER, %edi
    xor %esi, %esi
    lea SYSTRAP_REQ_BASE_PROG(%r14), %rdx
    mov $__NR_seccomp, %eax
    syscall
    test %rax, %rax
    jnz .Lstart_failed
.Lready:
    lea SYSTRAP_REQUEST_OFFSET(%r14), %r12
    lea SYSTRAP_REPLY_OFFSET(%r14), %r13
    // Tell the sentry we are ready.
    movl $1, SYSTRAP_REP_READY(%r13)
    lea SYSTRAP_REP_READY(%r13), %rdi
    mov $FUTEX_WAKE, %esi
    mov $1, %edx
    mov $__NR_futex, %eax
    syscall
    xor %ebx, %ebx                       // ebx = the last request served

// The helper's loop: wait for a new sequence number, run the request, publish the result.
.Lhelper_wait:
    mov SYSTRAP_REQ_SEQ(%r12), %eax
    cmp %eax, %ebx
    jne .Lhelper_serve
    mov %r12, %rdi
    mov $FUTEX_WAIT, %esi
    mov %ebx, %edx
    xor %r10d, %r10d
    mov $__NR_futex, %eax
    syscall
    jmp .Lhelper_wait
.Lhelper_serve:
    mov %eax, %ebx
    mov SYSTRAP_REQ_ARGS(%r12), %rdi
    mov SYSTRAP_REQ_ARGS+8(%r12), %rsi
    mov SYSTRAP_REQ_ARGS+16(%r12), %rdx
    mov SYSTRAP_REQ_ARGS+24(%r12), %r10
    mov SYSTRAP_REQ_ARGS+32(%r12), %r8
    mov SYSTRAP_REQ_ARGS+40(%r12), %r9
    mov SYSTRAP_REQ_NR(%r12), %rax
    cmp $__NR_clone, %rax
    je .Lhelper_clone
    syscall
.Lhelper_reply:
    mov %rax, SYSTRAP_REP_RESULT(%r13)
    mov %ebx, %eax
    xchg %eax, SYSTRAP_REP_DONE(%r13)
    mov %r13, %rdi
    mov $FUTEX_WAKE, %esi
    mov $1, %edx
    mov $__NR_futex, %eax
    syscall
    jmp .Lhelper_wait
.Lhelper_clone:
    syscall
    test %rax, %rax
    jnz .Lhelper_reply
    test $CLONE_VM, %edi
    jz .Lnew_stub
    // The new thread: rsp is its slot's start stack, every other register the helper's.
    mov %rsp, %r12
    and $-SYSTRAP_SLOT_SIZE, %r12
    lea SYSTRAP_SLOT_ALTSTACK_DESC(%r12), %rdi
    xor %esi, %esi
    mov $__NR_sigaltstack, %eax
    syscall
    test %rax, %rax
    jnz .Lthread_failed
    mov $SIG_SETMASK, %edi
    lea SYSTRAP_SLOT_ZERO_MASK(%r12), %rsi
    xor %edx, %edx
    mov $8, %r10d
    mov $__NR_rt_sigprocmask, %eax
    syscall
    test %rax, %rax
    jnz .Lthread_failed
    mov $SECCOMP_SET_MODE_FILTER, %edi
    xor %esi, %esi
    lea SYSTRAP_REQ_THREAD_PROG(%r14), %rdx
    mov $__NR_seccomp, %eax
    syscall
    test %rax, %rax
    jnz .Lthread_failed
    // Park in the handler: the sentry's first Switch replaces every register.
    int3
    ud2
.Lnew_stub:
    // A new stub, forked by the zygote with CLONE_PARENT (so the sentry's monitor thread is
    // its parent): a copy of the zygote, filter included. r8 = the sentry's pid, r9 = the
    // offset of this stub's own window in the shared file (SYSTRAP_ZYGOTE_FD).
    mov %r8, %rbx
    mov %r9, %rbp
    mov $PR_SET_PDEATHSIG, %edi
    mov $SIGKILL, %esi
    mov $__NR_prctl, %eax
    syscall
    test %rax, %rax
    jnz .Lstart_failed
    mov $__NR_getppid, %eax              // the parent may have gone before the prctl
    syscall
    cmp %rbx, %rax
    jne .Lstart_failed
    mov %r14, %rdi
    mov $SYSTRAP_SHARED_SIZE, %esi
    mov $PROT_RW, %edx
    mov $MAP_SHARED_FIXED, %r10d
    mov $SYSTRAP_ZYGOTE_FD, %r8d
    mov %rbp, %r9
    mov $__NR_mmap, %eax
    syscall
    cmp %r14, %rax
    jne .Lstart_failed
    mov $SYSTRAP_ZYGOTE_FD, %edi
    mov $__NR_close, %eax
    syscall
    lea SYSTRAP_REQUEST_OFFSET(%r14), %rdi
    mov $SYSTRAP_PAGE_SIZE, %esi
    mov $PROT_R, %edx
    mov $__NR_mprotect, %eax
    syscall
    test %rax, %rax
    jnz .Lstart_failed
    jmp .Lready
.Lthread_failed:
    mov $125, %edi
    mov $__NR_exit, %eax
    syscall
    ud2
.Lstart_failed:
    mov $126, %edi
    mov $__NR_exit_group, %eax
    syscall
    ud2

// The signal handler (SIGSYS, the faults, the interrupt and every other catchable signal),
// on the thread's altstack with every signal blocked: edi = signo, rsi = siginfo, rdx =
// ucontext. It may clobber any register: rt_sigreturn restores all of them from the frame.
    .balign 16
    .globl moat_systrap_handler
    .hidden moat_systrap_handler
moat_systrap_handler:
    mov %rsp, %r12
    and $-SYSTRAP_SLOT_SIZE, %r12
    // A signal inside the fast path (below) is not about application code.
    mov SYSTRAP_UC_GREG(SYSTRAP_RIP)(%rdx), %rax
    lea moat_systrap_fast_entry(%rip), %rcx
    sub %rcx, %rax
    cmp $(.Lfast_tail - moat_systrap_fast_entry), %rax
    jae 8f
    // In its body: a fault is published as it is (the sentry makes sense of the prefix's);
    // an asynchronous signal (the sentry's interrupt) is left for the exit, which then parks
    // in a signal frame instead of returning to the application.
    cmpl $0, 8(%rsi)                     // si_code > 0: sent by the kernel for a fault
    jg .Lpublish
    lea .Lpark_tail(%rip), %rcx
    mov %rcx, SYSTRAP_SLOT_FAST_EXIT(%r12)
    ret
8:  cmp $(moat_systrap_park_end - moat_systrap_fast_entry), %rax
    jae .Lpublish
    // In a tail every general register already is the application's: finish the exit in
    // the frame, so that the signal is seen as one that came in the application.
    mov SYSTRAP_FG(SYSTRAP_RSP)(%r12), %rax
    mov %rax, SYSTRAP_UC_GREG(SYSTRAP_RSP)(%rdx)
    mov SYSTRAP_FG(SYSTRAP_RIP)(%r12), %rax
    mov %rax, SYSTRAP_UC_GREG(SYSTRAP_RIP)(%rdx)
    mov SYSTRAP_FG(SYSTRAP_EFL)(%r12), %rax
    mov %rax, SYSTRAP_UC_GREG(SYSTRAP_EFL)(%rdx)
.Lpublish:
    mov %rsi, SYSTRAP_SLOT_SIGINFO(%r12)
    mov %rdx, SYSTRAP_SLOT_UCONTEXT(%r12)
    mov $SYSTRAP_STATE_EVENT, %eax
    xchg %eax, SYSTRAP_SLOT_STATE(%r12)  // a full barrier before reading the sleeping flag
    call .Lwait_resume
    // Released. fs/gs bases are not in the frame: set them when the sentry changed them.
    cmpq $0, SYSTRAP_SLOT_SET_FS(%r12)
    je 6f
    movq $0, SYSTRAP_SLOT_SET_FS(%r12)
    mov $ARCH_SET_FS, %edi
    mov SYSTRAP_SLOT_FS_BASE(%r12), %rsi
    mov $__NR_arch_prctl, %eax
    syscall
6:  cmpq $0, SYSTRAP_SLOT_SET_GS(%r12)
    je 7f
    movq $0, SYSTRAP_SLOT_SET_GS(%r12)
    mov $ARCH_SET_GS, %edi
    mov SYSTRAP_SLOT_GS_BASE(%r12), %rsi
    mov $__NR_arch_prctl, %eax
    syscall
7:  ret                                  // to moat_systrap_restorer

// The fast path: a patched system call site jumps here through its trap-table entry, without
// a signal. r11 = the entry; rax, rcx are free (the site's `mov` and `syscall` would have
// clobbered them); every other register, the flags and rsp are the application's. %gs is the
// thread's slot (the sentry keeps it so while the application's gs base is 0).
    .balign 16
    .globl moat_systrap_fast_entry
    .hidden moat_systrap_fast_entry
moat_systrap_fast_entry:
    // Is %gs our slot? Compared without touching the flags (not, lea, jrcxz). If not (the
    // application set a gs base of its own), the load faults or the ud2 traps, and the
    // sentry serves the call from that signal frame, reading the entry at r11.
    mov %gs:SYSTRAP_SLOT_SELF, %rax
    mov SYSTRAP_SLOT_SELF(%rax), %rcx
    not %rcx
    lea 1(%rcx,%rax), %rcx
    jrcxz moat_systrap_fast_checked
    ud2
    .globl moat_systrap_fast_checked
    .hidden moat_systrap_fast_checked
moat_systrap_fast_checked:
    mov %rsp, SYSTRAP_FG(SYSTRAP_RSP)(%rax)
    lea SYSTRAP_SLOT_FAST_STACK(%rax), %rsp
    pushfq
    popq SYSTRAP_FG(SYSTRAP_EFL)(%rax)
    mov %r8, SYSTRAP_FG(SYSTRAP_R8)(%rax)
    mov %r9, SYSTRAP_FG(SYSTRAP_R9)(%rax)
    mov %r10, SYSTRAP_FG(SYSTRAP_R10)(%rax)
    mov %r12, SYSTRAP_FG(SYSTRAP_R12)(%rax)
    mov %r13, SYSTRAP_FG(SYSTRAP_R13)(%rax)
    mov %r14, SYSTRAP_FG(SYSTRAP_R14)(%rax)
    mov %r15, SYSTRAP_FG(SYSTRAP_R15)(%rax)
    mov %rdi, SYSTRAP_FG(SYSTRAP_RDI)(%rax)
    mov %rsi, SYSTRAP_FG(SYSTRAP_RSI)(%rax)
    mov %rbp, SYSTRAP_FG(SYSTRAP_RBP)(%rax)
    mov %rbx, SYSTRAP_FG(SYSTRAP_RBX)(%rax)
    mov %rdx, SYSTRAP_FG(SYSTRAP_RDX)(%rax)
    mov %rax, %r12
    // As after a real syscall: rax the number, rcx the return address, r11 the flags.
    mov SYSTRAP_ENTRY_NR(%r11), %eax
    mov %rax, SYSTRAP_FG(SYSTRAP_RAX)(%r12)
    mov SYSTRAP_ENTRY_RET(%r11), %rcx
    mov %rcx, SYSTRAP_FG(SYSTRAP_RCX)(%r12)
    mov %rcx, SYSTRAP_FG(SYSTRAP_RIP)(%r12)
    mov SYSTRAP_FG(SYSTRAP_EFL)(%r12), %rcx
    mov %rcx, SYSTRAP_FG(SYSTRAP_R11)(%r12)
    lea .Lfast_tail(%rip), %rcx
    mov %rcx, SYSTRAP_SLOT_FAST_EXIT(%r12)
    mov $SYSTRAP_STATE_FAST, %eax
    xchg %eax, SYSTRAP_SLOT_STATE(%r12)  // publish (a full barrier, as in the handler)
    call .Lwait_resume
    // Released: the registers the sentry left in FAST_GREGS (it never changes the fs/gs
    // bases here: it turns the call into a signal frame first).
    pushq SYSTRAP_FG(SYSTRAP_EFL)(%r12)
    mov SYSTRAP_FG(SYSTRAP_R8)(%r12), %r8
    mov SYSTRAP_FG(SYSTRAP_R9)(%r12), %r9
    mov SYSTRAP_FG(SYSTRAP_R10)(%r12), %r10
    mov SYSTRAP_FG(SYSTRAP_R11)(%r12), %r11
    mov SYSTRAP_FG(SYSTRAP_R13)(%r12), %r13
    mov SYSTRAP_FG(SYSTRAP_R14)(%r12), %r14
    mov SYSTRAP_FG(SYSTRAP_R15)(%r12), %r15
    mov SYSTRAP_FG(SYSTRAP_RDI)(%r12), %rdi
    mov SYSTRAP_FG(SYSTRAP_RSI)(%r12), %rsi
    mov SYSTRAP_FG(SYSTRAP_RBP)(%r12), %rbp
    mov SYSTRAP_FG(SYSTRAP_RBX)(%r12), %rbx
    mov SYSTRAP_FG(SYSTRAP_RDX)(%r12), %rdx
    mov SYSTRAP_FG(SYSTRAP_RAX)(%r12), %rax
    mov SYSTRAP_FG(SYSTRAP_RCX)(%r12), %rcx
    mov SYSTRAP_FG(SYSTRAP_R12)(%r12), %r12
    jmp *%gs:SYSTRAP_SLOT_FAST_EXIT

// Shared by the handler and the fast path (r12 = the slot; the state just published): wake
// the sentry if it sleeps, spin `stub_spin` times, then sleep until the state is RESUME.
.Lwait_resume:
    cmpl $0, SYSTRAP_SLOT_SENTRY_SLEEPING(%r12)
    je 1f
    mov %r12, %rdi
    mov $FUTEX_WAKE, %esi
    mov $1, %edx
    mov $__NR_futex, %eax
    syscall
1:  mov SYSTRAP_SLOT_STUB_SPIN(%r12), %ecx
    test %ecx, %ecx
    jz 3f
2:  cmpl $SYSTRAP_STATE_RESUME, SYSTRAP_SLOT_STATE(%r12)
    je 5f
    pause
    dec %ecx
    jnz 2b
3:  mov $1, %eax
    xchg %eax, SYSTRAP_SLOT_STUB_SLEEPING(%r12)
    mov SYSTRAP_SLOT_STATE(%r12), %edx
    cmp $SYSTRAP_STATE_RESUME, %edx
    je 4f
    cmp $SYSTRAP_STATE_DEAD, %edx
    je 4f
    mov %r12, %rdi
    mov $FUTEX_WAIT, %esi
    xor %r10d, %r10d
    mov $__NR_futex, %eax
    syscall
4:  movl $0, SYSTRAP_SLOT_STUB_SLEEPING(%r12)
    cmpl $SYSTRAP_STATE_RESUME, SYSTRAP_SLOT_STATE(%r12)
    jne 3b
5:  ret

// The exits (the tails): every general register is the application's, the flags are on the
// fast stack. The handler finishes a tail in its frame when a signal comes here.
.Lfast_tail:
    popfq
    mov %gs:SYSTRAP_FG(SYSTRAP_RSP), %rsp
    jmp *%gs:SYSTRAP_FG(SYSTRAP_RIP)
// The same, but trap into the handler: the sentry gets a signal frame (for an interrupt that
// came during the fast path, or because it needs the FPU state) and puts rip back.
    .globl moat_systrap_park_tail
    .hidden moat_systrap_park_tail
moat_systrap_park_tail:
.Lpark_tail:
    popfq
    mov %gs:SYSTRAP_FG(SYSTRAP_RSP), %rsp
    int3
    .globl moat_systrap_park_end
    .hidden moat_systrap_park_end
moat_systrap_park_end:
    ud2

    .balign 16
    .globl moat_systrap_restorer
    .hidden moat_systrap_restorer
moat_systrap_restorer:
    mov $__NR_rt_sigreturn, %eax
    syscall
    ud2

// Leave: the sentry points a parked thread's rip here.
    .balign 16
    .globl moat_systrap_exit
    .hidden moat_systrap_exit
moat_systrap_exit:
    xor %edi, %edi
    mov $__NR_exit, %eax
    syscall
    ud2

    .globl moat_systrap_end
    .hidden moat_systrap_end
moat_systrap_end:

    .section .note.GNU-stack, "", @progbits
