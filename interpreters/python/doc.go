// Package python finds CPython (2.7, 3.6 through 3.13) in a process and
// names the Python frames that the in-kernel walker records.
//
// Detect reads /proc/PID/maps, opens the interpreter's file (libpython*.so,
// or a static python executable) through /proc/PID/map_files or
// /proc/PID/root, and takes from its ELF symbols (.dynsym, then .symtab):
// the eval loop's range, the address of the first interpreter state
// (&_PyRuntime.interpreters.head from 3.7; interp_head on 2.7 and 3.6,
// decoded from PyInterpreterState_Head's `mov rax,[rip+d]; ret` when
// .symtab is stripped), the type objects used to check objects, and the
// version (Py_Version, or the PY_VERSION string Py_GetVersion formats).
// The walker's Offsets come from a per-version table checked against each
// version's DWARF; on 3.13 they come from the _Py_DebugOffsets the runtime
// publishes at the start of _PyRuntime, which the table cross-checks.
//
// Facts the walker relies on, per version:
//
//   - thread_id is pthread_self() on every version (PyThread_get_thread_ident),
//     which on x86-64 is the task's fs base.
//   - 2.7 to 3.10: one Python frame per eval call (PyEval_EvalFrameEx on
//     2.7, _PyEval_EvalFrameDefault on 3.6+), reached through
//     PyThreadState.frame and f_back; f_lasti is an int: a byte offset up to
//     3.9, a code-unit index on 3.10, -1 before the first instruction.
//   - 3.11: the eval loop runs frames up to and including the first with
//     is_entry; the thread's frames are tstate->cframe->current_frame.
//   - 3.12: likewise through cframe (current_frame is its first member, so
//     CFrameCurrentFrame is 0); the loop's own entry frame has owner 3
//     (FrameOwnedByCStack) and no code: it ends the group and is skipped.
//   - 3.13: tstate->current_frame directly, f_executable for the code,
//     instr_ptr for the position (the start of the instruction being run;
//     in callers, the CALL).
//   - A zero in Offsets is a real offset where the field exists for that
//     version (2.7's TstateNext, 3.12+'s FrameCode and CFrameCurrentFrame).
//
// Threat model: everything read from the process is untrusted. Objects are
// checked by type pointer and co_firstlineno before use, lengths are
// bounded, and the parsers (fuzzed by FuzzObjects) return errors on bad
// bytes, never panic. Free-threaded (3.13t) and Py_TRACE_REFS builds are
// refused or unsupported.
package python
