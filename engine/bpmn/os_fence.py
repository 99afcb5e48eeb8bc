"""The operating-system fence of the sandbox worker: a seccomp allow-list of system calls.

RestrictedPython and our guards are the wall model code meets first. Should code ever get over it
(a flaw in RestrictedPython, in a guard, or in CPython itself), it would run as plain Python in the
worker process, and plain Python can open files, connect to the database host or start programs.
The fence makes the kernel refuse that: the worker installs it after start-up (imports, the time
zone, the resource limits are done by then), and from that moment only the system calls that
evaluating code needs succeed - reading the request pipe, writing the reply pipe, memory, signals,
clocks, exiting. Everything else fails with ``EPERM``: no ``open``/``openat`` (so no new files and
no further imports), no sockets, no ``execve``, no ``fork``/``clone``, no ``ptrace``, no
``kill`` of other processes. System calls of another architecture (32-bit ``int 0x80``, x32) kill
the process.

Design choices:

* seccomp rather than Landlock: the worker needs no file system at all after start-up, so an
  allow-list by system call refuses strictly more than Landlock's path and port rules, and it also
  covers ``execve``, ``fork``, ``ptrace`` and signals, which Landlock does not govern.
* libseccomp (the system library ``libseccomp.so.2``, present wherever apt or systemd is) through
  a few lines of ctypes rather than a Python binding from PyPI: the library turns names into the
  numbers of the running architecture, and loading it by its soname costs about a millisecond,
  where ``ctypes.util.find_library`` would start ``ldconfig`` in every worker.
* ``EPERM`` rather than killing the worker: a refused call becomes an ordinary Python error that
  is reported as the model's error, and a worker that merely tried stays usable.

Standard library only: the worker imports this module by file path, like ``sandbox_worker``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
from typing import Final

__all__ = ["ALLOWED_SYSCALLS", "FenceUnavailableError", "install"]

LIBRARY: Final = "libseccomp.so.2"

# What the worker loop and CPython need once started. Every entry works only on what the process
# already has: its pipes, its memory, its own signals and clocks.
ALLOWED_SYSCALLS: Final = (
    "read", "write", "close", "fstat", "lseek",  # the request and reply pipes
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",  # memory (within RLIMIT_AS)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
    "futex", "sched_yield", "getpid", "gettid", "getrandom",
    "clock_gettime", "clock_getres", "gettimeofday", "time", "getrusage",  # CPU limit bookkeeping
    "exit", "exit_group",
)

_ACT_KILL_PROCESS: Final = 0x80000000
_ACT_ALLOW: Final = 0x7FFF0000
_ACT_EPERM: Final = 0x00050000 | errno.EPERM  # SCMP_ACT_ERRNO(EPERM)
_ATTR_ACT_BADARCH: Final = 2  # SCMP_FLTATR_ACT_BADARCH
_CMP_EQ: Final = 4  # SCMP_CMP_EQ


class FenceUnavailableError(Exception):
    """The fence could not be installed; the worker must not run model code."""


class _ArgCmp(ctypes.Structure):
    """``struct scmp_arg_cmp``: one condition on a system call argument."""

    _fields_ = (("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64))


def _load_library() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError as err:
        raise FenceUnavailableError(f"libseccomp is missing ({err}); install the package libseccomp2") from None
    lib.seccomp_init.argtypes = (ctypes.c_uint32,)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_release.argtypes = (ctypes.c_void_p,)
    lib.seccomp_release.restype = None
    lib.seccomp_attr_set.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32)
    lib.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
    lib.seccomp_rule_add_array.argtypes = (
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCmp))
    lib.seccomp_load.argtypes = (ctypes.c_void_p,)
    return lib


def _check(result: int, what: str) -> None:
    if result < 0:  # libseccomp returns negated errno values
        raise FenceUnavailableError(f"{what} failed: {os.strerror(-result)}")


class _Filter:
    """A libseccomp filter context being filled with rules."""

    def __init__(self, lib: ctypes.CDLL, context: int) -> None:
        self._lib = lib
        self._context = context

    def allow(self, name: str, *conditions: tuple[int, int]) -> None:
        """Allow ``name`` when every ``(argument index, value)`` condition holds."""
        number = self._lib.seccomp_syscall_resolve_name(name.encode("ascii"))
        if number < 0:
            return  # not a system call of this architecture (e.g. "time" on arm64): nothing to allow
        array = (_ArgCmp * max(1, len(conditions)))(
            *(_ArgCmp(index, _CMP_EQ, value, 0) for index, value in conditions))
        _check(self._lib.seccomp_rule_add_array(self._context, _ACT_ALLOW, number, len(conditions), array),
               f"allowing {name}")

    def load(self) -> None:
        _check(self._lib.seccomp_load(self._context), "loading the seccomp filter into the kernel")


def install() -> None:
    """Fence the calling process in for the rest of its life; raise FenceUnavailableError if impossible.

    Irreversible, and inherited by any child: call it only in the worker, after start-up.
    """
    lib = _load_library()
    context = lib.seccomp_init(_ACT_EPERM)
    if not context:
        raise FenceUnavailableError("libseccomp could not create a filter")
    try:
        fence = _Filter(lib, context)
        _check(lib.seccomp_attr_set(context, _ATTR_ACT_BADARCH, _ACT_KILL_PROCESS), "refusing other architectures")
        for name in ALLOWED_SYSCALLS:
            fence.allow(name)
        _allow_own_limits(fence)
        fence.allow("tgkill", (0, os.getpid()))  # abort() signals itself; no other process
        fence.load()
    finally:
        lib.seccomp_release(context)


def _allow_own_limits(fence: _Filter) -> None:
    """``prlimit64`` on this process: read any limit, but change only the CPU limit.

    The worker moves its CPU limit on with every request; nothing may raise its memory limit.
    """
    fence.allow("prlimit64", (0, 0), (2, 0))  # pid 0 (self), no new value: a read
    fence.allow("prlimit64", (0, 0), (1, resource.RLIMIT_CPU))
    fence.allow("getrlimit")
