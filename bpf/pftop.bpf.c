//go:build ignore

/* pftop's sampling programs: a perf_event program that records the kernel
 * stack and walks the user stack with stack deltas, tail-calling itself to
 * stay within the verifier's limits, and a raw tracepoint that reports
 * process exits. Only helpers and map types of Linux 5.10 are used; newer
 * helpers sit behind load-time constants the loader sets after probing. */

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#include "types.h"

char LICENSE[] SEC("license") = "GPL";

/* Minimal CO-RE view of the kernel's task_struct: relocated against the
 * running kernel's BTF, so the offsets are never hard-coded. */
struct thread_struct {
	unsigned long fsbase;
} __attribute__((preserve_access_index));

struct task_struct {
	unsigned int flags;
	void *stack;
	void *mm;
	struct thread_struct thread;
	struct task_struct *group_leader;
	__u64 start_time;
} __attribute__((preserve_access_index));

#define PF_KTHREAD 0x00200000

/* Set by the loader before load. */
volatile const __u32 thread_size = 16384;  /* THREAD_SIZE of this kernel */
volatile const __u8 have_task_pt_regs = 0; /* bpf_task_pt_regs and bpf_get_current_task_btf */
volatile const __u64 sync_interval_ns = 500000000ULL;
volatile const __u8 filter_pids = 0;       /* sample only the PIDs in pid_filter */
volatile const __u8 time_phases = 0;       /* fill the C_T_* counters (diagnostics) */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mapping_key);
	__type(value, struct mapping);
	__uint(max_entries, 262144);
} pid_mappings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct page_key);
	__type(value, struct page_val);
	__uint(max_entries, 65536);
} delta_pages SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct delta_chunk);
	__uint(max_entries, 4194304); /* 8M deltas, 32 MiB */
} deltas SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct rule);
	__uint(max_entries, 65536);
} rules SEC(".maps");

/* Bumped by user space whenever mappings of a live process are dropped:
 * cached mappings of an older generation are not used, so a library
 * unloaded never resolves stale. (Exits need no bump: a reused PID has
 * another mm.) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} mapping_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct map_cache_set);
	__uint(max_entries, MAP_CACHE_SETS);
} map_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct rule_cache_set);
	__uint(max_entries, RULE_CACHE_SETS);
} rule_cache SEC(".maps");

/* CPython processes by PID, with a bitmap in front so that samples of
 * other processes pay an array read, not a hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, INTERP_PID_WORDS);
} interp_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct py_proc);
	__uint(max_entries, 4096);
} py_procs SEC(".maps");

/* Thread state per TID, in a per-CPU slot by TID; checked against the
 * thread before each use. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct py_thread);
	__uint(max_entries, PY_THREAD_SLOTS);
} py_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct py_code_entry);
	__uint(max_entries, PY_CODE_SLOTS);
} py_code SEC(".maps");

struct unwind_state {
	__u64 pc;
	__u64 sp;
	__u64 bp;
	__u32 return_addr; /* pc is a return address: look up pc-1 */
	__u32 tail_calls;
	/* The last mapping and rule found, so frames in the same mapping
	 * skip the trie and repeated return addresses (recursion) skip the
	 * search. Valid within one sample only. */
	struct mapping last_map;
	__u64 last_rule_file;
	__u64 last_rule_addr; /* the rule holds for [addr, addr+len) */
	__u32 last_rule_len;
	struct rule last_rule;
	/* find_rule's result: the rule and the stretch it covers. */
	struct rule found_rule;
	__u64 found_start;
	__u32 found_len;
	__u32 have_last_map;
	__u32 have_last_rule;
	__u64 gen; /* mapping_gen when the sample started */
	__u64 proc; /* the sampled process's start time: with the PID, names it */
	/* Frame counts, added to the counters once per trace. */
	__u32 n_delta;
	__u32 n_fp;
	__u32 n_signal;
	__u32 n_py;
	__u32 n_rule_searches;
	__u32 n_stack_reads;
	/* With time_phases: ns per phase, added once per trace. */
	__u64 t_rule_search;
	__u64 t_stack_read;
	__u64 t_py_thread;
	__u64 t_py_walk;
	/* CPython: the process's layout, and the next Python frame to
	 * record once the thread's frame chain has been found. */
	__u32 py_on;     /* the process runs CPython */
	__u32 py_loaded; /* py_frame holds the thread's chain */
	__u64 py_frame;
	struct py_proc py;
	/* Frames are read into py_buf, which then holds the user memory
	 * [py_lo, py_hi): on 3.11+ a window below the frame read, since the
	 * frames a thread calls through sit next to each other, each
	 * caller below its callee. */
	__u64 py_lo;
	__u64 py_hi;
	/* stack_buf holds the user stack [stack_lo, stack_hi): the frames a
	 * walk steps through sit next to each other, so one read serves
	 * several of them. */
	__u64 stack_lo;
	__u64 stack_hi;
	__u8 stack_buf[STACK_WINDOW + 8];
	__u8 py_buf[PY_WINDOW + PY_FRAME_BLOCK + 8];
	__u8 ts_buf[256 + 8]; /* the first PY_TSTATE_BLOCK bytes of a thread state */
	struct trace trace;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct unwind_state);
	__uint(max_entries, 1);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, C_COUNTERS);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, PROG_SLOTS);
} progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} events SEC(".maps");

/* With filter_pids set, the only processes sampled (pftop -p). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u8);
	__uint(max_entries, 1024);
} pid_filter SEC(".maps");

/* Last sync request per PID, so a process we cannot unwind does not flood
 * user space. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8192);
} sync_sent SEC(".maps");

/* Types bpf2go should emit even though no map names them. */
const struct trace *unused_trace __attribute__((unused));
const struct event *unused_event __attribute__((unused));
const enum counter *unused_counter __attribute__((unused));
const enum unwind_status *unused_status __attribute__((unused));
const enum event_kind *unused_event_kind __attribute__((unused));
const enum mapping_kind *unused_mapping_kind __attribute__((unused));
const enum cfa_kind *unused_cfa_kind __attribute__((unused));
const enum rbp_kind *unused_rbp_kind __attribute__((unused));
const enum prog_slot *unused_prog_slot __attribute__((unused));
const struct delta_chunk *unused_delta_chunk __attribute__((unused));
const struct map_cache_set *unused_map_cache_set __attribute__((unused));
const struct rule_cache_set *unused_rule_cache_set __attribute__((unused));
const struct py_proc *unused_py_proc __attribute__((unused));
const struct py_thread *unused_py_thread __attribute__((unused));
const struct py_code_entry *unused_py_code_entry __attribute__((unused));

/* The sample being unwound, on this CPU. */
static __always_inline struct unwind_state *state(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline void count_n(__u32 c, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &c);
	if (v)
		*v += n;
}

static __always_inline void count(__u32 c)
{
	count_n(c, 1);
}

/* The clock for phase timing: 0 unless time_phases is set. Without it
 * the verifier drops the clock reads as dead code. */
static __always_inline __u64 phase_clock(void)
{
	return time_phases ? bpf_ktime_get_ns() : 0;
}

/* The ns since t0, a phase_clock() reading; 0 without time_phases. */
static __always_inline __u64 phase_since(__u64 t0)
{
	return time_phases ? bpf_ktime_get_ns() - t0 : 0;
}

/* Ask user space to (re)read a process's mappings, at most once per
 * sync_interval_ns per process. */
static __always_inline void request_sync(__u32 pid, __u64 addr)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 *last = bpf_map_lookup_elem(&sync_sent, &pid);
	if (last && now - *last < sync_interval_ns) {
		count(C_SYNC_LIMITED);
		return;
	}
	bpf_map_update_elem(&sync_sent, &pid, &now, BPF_ANY);
	struct event ev = { .kind = EVENT_SYNC, .pid = pid, .addr = addr };
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
		count(C_EVENTS_FULL);
	else
		count(C_SYNC_SENT);
}

static __always_inline int send_trace(struct unwind_state *st)
{
	struct trace *t = &st->trace;
	__u32 n = t->ustack_len;
	if (n > MAX_USTACK)
		n = MAX_USTACK;
	__u32 kn = t->kstack_len;
	if (kn > MAX_KSTACK)
		kn = MAX_KSTACK;
	/* Pack the kernel stack right behind the user frames. */
	if (kn > 0 && bpf_probe_read_kernel(&t->ustack[n], kn * sizeof(__u64), t->kstack))
		kn = 0;
	t->kstack_len = kn;
	__u64 size = __builtin_offsetof(struct trace, ustack) + (__u64)n * sizeof(struct frame) + (__u64)kn * sizeof(__u64);
	if (size > sizeof(*t))
		size = sizeof(*t);
	/* No wakeup per record: user space drains on its own schedule, and is
	 * woken only when the ring starts to fill. */
	__u64 t0 = phase_clock();
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&traces, BPF_RB_AVAIL_DATA) > (256 << 10))
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&traces, t, size, flags)) {
		count(C_RING_FULL);
		return 0;
	}
	count(C_TRACES_SENT);
	if (time_phases)
		count_n(C_T_SEND, bpf_ktime_get_ns() - t0);
	/* The programs' own clock: unlike bpf_stats it leaves out the
	 * samples the PID filter dropped, and the entry overhead. */
	count_n(C_UNWIND_NS, bpf_ktime_get_ns() - t->ktime);
	return 0;
}

static __always_inline int finish(struct unwind_state *st, __u32 status)
{
	st->trace.status = status;
	if (st->n_delta)
		count_n(C_DELTA_FRAMES, st->n_delta);
	if (st->n_fp)
		count_n(C_FP_FRAMES, st->n_fp);
	if (st->n_signal)
		count_n(C_SIGNAL_FRAMES, st->n_signal);
	if (st->n_py)
		count_n(C_PY_FRAMES, st->n_py);
	if (st->n_rule_searches)
		count_n(C_RULE_SEARCHES, st->n_rule_searches);
	if (st->n_stack_reads)
		count_n(C_STACK_READS, st->n_stack_reads);
	if (time_phases) {
		count_n(C_T_RULE_SEARCH, st->t_rule_search);
		count_n(C_T_STACK_READ, st->t_stack_read);
		count_n(C_T_PY_THREAD, st->t_py_thread);
		count_n(C_T_PY_WALK, st->t_py_walk);
	}
	switch (status) {
	case STATUS_NO_MAPPING: count(C_ERR_NO_MAPPING); break;
	case STATUS_NO_UNWIND: count(C_ERR_NO_UNWIND); break;
	case STATUS_READ_FAILED: count(C_ERR_READ); break;
	case STATUS_TRUNCATED: count(C_ERR_TRUNCATED); break;
	case STATUS_BAD_REGS: count(C_ERR_BAD_REGS); break;
	case STATUS_BAD_RULE: count(C_ERR_BAD_RULE); break;
	case STATUS_TAIL_CALL: count(C_ERR_TAIL_CALL); break;
	}
	return send_trace(st);
}

/* Finds the rule for file address addr of file_id: the last delta at or
 * before addr in its page, and the stretch up to the next delta or the
 * page's end that it covers, into st->found_*. Returns 0 when the page has
 * none (no unwind info here). A global function, so that its search is
 * verified once, apart from the frame's other paths. */
__noinline int find_rule(__u64 file_id, __u64 addr)
{
	struct unwind_state *st = state();
	if (!st)
		return 0;
	struct page_key pk = { .file_id = file_id, .page = addr >> DELTA_PAGE_BITS };
	struct page_val *pv = bpf_map_lookup_elem(&delta_pages, &pk);
	if (!pv)
		return 0;
	__u32 off16 = (__u32)(addr & ((1 << DELTA_PAGE_BITS) - 1));
	__u32 key = (off16 << 16) | 0xffff;
	__u32 first = pv->start;
	/* The deltas before addr's sub-page are at or before addr, those from
	 * the next sub-page on after it: the answer is the last delta below
	 * the next sub-page, or one at or after the start of this one. */
	__u32 k = off16 >> DELTA_SUB_BITS;
	__u32 next = k + 1;
	/* Barriers keep the masks on the registers that index: the compiler
	 * otherwise folds them into a bound the verifier cannot follow. */
	asm volatile("" : "+r"(k));
	asm volatile("" : "+r"(next));
	__u32 lo = first + pv->sub[k & (DELTA_SUBS - 1)];
	__u32 hi = first + pv->count;
	if (next < DELTA_SUBS)
		hi = first + pv->sub[next & (DELTA_SUBS - 1)];
	/* search [lo, hi) */
	/* Find the first delta above key; the one before it applies. Few
	 * live variables keep the verifier's state count low. */
	for (int i = 0; i < BSEARCH_STEPS; i++) {
		if (lo >= hi)
			break;
		__u32 mid = lo + (hi - lo) / 2;
		__u32 ci = mid / DELTA_CHUNK;
		struct delta_chunk *c = bpf_map_lookup_elem(&deltas, &ci);
		if (!c)
			return 0;
		if ((__u32)(c->pair >> ((mid & 1) * 32)) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == first)
		return 0;
	__u32 fi = lo - 1;
	__u32 ci = fi / DELTA_CHUNK;
	struct delta_chunk *c = bpf_map_lookup_elem(&deltas, &ci);
	if (!c)
		return 0;
	__u32 found = (__u32)(c->pair >> ((fi & 1) * 32));
	__u32 ri = found & 0xffff;
	struct rule *r = bpf_map_lookup_elem(&rules, &ri);
	if (!r)
		return 0;
	/* The stretch ends at the next delta, lo, if the page has one. */
	__u32 end = 1 << DELTA_PAGE_BITS;
	if (lo < first + pv->count) {
		ci = lo / DELTA_CHUNK;
		c = bpf_map_lookup_elem(&deltas, &ci);
		if (c)
			end = (__u32)(c->pair >> ((lo & 1) * 32)) >> 16;
	}
	__u32 off = found >> 16;
	st->found_rule = *r;
	st->found_start = (addr & ~(__u64)((1 << DELTA_PAGE_BITS) - 1)) + off;
	st->found_len = end > off ? end - off : 1;
	return 1;
}

/* find_rule, counted and timed. */
static __always_inline int searched_rule(struct unwind_state *st, __u64 file_id, __u64 addr)
{
	__u64 t0 = phase_clock();
	int found = find_rule(file_id, addr);
	st->n_rule_searches++;
	st->t_rule_search += phase_since(t0);
	return found;
}

/* Reads a word of the sampled thread's stack, through the window. The
 * window is an aligned block, so it never crosses a page, and so never
 * the end of the stack's mapping. */
static __always_inline int read_user_u64(struct unwind_state *st, __u64 addr, __u64 *out)
{
	if (addr < st->stack_lo || addr + 8 > st->stack_hi) {
		__u64 lo = addr & ~(__u64)(STACK_WINDOW - 1);
		__u64 t0 = phase_clock();
		st->n_stack_reads++;
		long err = addr + 8 > lo + STACK_WINDOW || bpf_probe_read_user(st->stack_buf, STACK_WINDOW, (void *)lo);
		st->t_stack_read += phase_since(t0);
		if (err) {
			st->stack_lo = st->stack_hi = 0;
			return bpf_probe_read_user(out, sizeof(*out), (void *)addr);
		}
		st->stack_lo = lo;
		st->stack_hi = lo + STACK_WINDOW;
	}
	*out = *(__u64 *)&st->stack_buf[(addr - st->stack_lo) & (STACK_WINDOW - 1)];
	return 0;
}

/* Loads a field of the frame at base in py_buf; the frame's base and the
 * field's offset (from user space, checked to fit the block) are masked
 * into the buffer. */
static __always_inline __u64 py_u64(struct unwind_state *st, __u32 base, __u32 off)
{
	return *(__u64 *)&st->py_buf[(base & (PY_WINDOW - 1)) + (off & (PY_FRAME_BLOCK - 1))];
}

static __always_inline __u32 py_u32(struct unwind_state *st, __u32 base, __u32 off)
{
	return *(__u32 *)&st->py_buf[(base & (PY_WINDOW - 1)) + (off & (PY_FRAME_BLOCK - 1))];
}

static __always_inline __u8 py_u8(struct unwind_state *st, __u32 base, __u32 off)
{
	return st->py_buf[(base & (PY_WINDOW - 1)) + (off & (PY_FRAME_BLOCK - 1))];
}

/* Makes the frame at fr readable in py_buf and returns its offset there,
 * or -1. */
static __always_inline long py_load(struct unwind_state *st, __u64 fr)
{
	if (fr >= st->py_lo && fr + PY_FRAME_BLOCK <= st->py_hi)
		return fr - st->py_lo;
	/* 3.11+: the whole page the frame is in, in one read, for the
	 * callers' frames below it; a page is mapped whole, so the read
	 * cannot stray past the frame stack's mapping. */
	__u64 page = fr & ~(__u64)(PY_WINDOW - 1);
	if (st->py.version >= 0x30b && fr + PY_FRAME_BLOCK <= page + PY_WINDOW &&
	    !bpf_probe_read_user(st->py_buf, PY_WINDOW, (void *)page)) {
		st->py_lo = page;
		st->py_hi = page + PY_WINDOW;
		return fr - page;
	}
	if (bpf_probe_read_user(st->py_buf, PY_FRAME_BLOCK, (void *)fr)) {
		st->py_lo = st->py_hi = 0;
		return -1;
	}
	st->py_lo = fr;
	st->py_hi = fr + PY_FRAME_BLOCK;
	return 0;
}

/* co_firstlineno of code, cached per CPU for PY_CODE_TTL_NS. */
static __always_inline __u32 py_first_line(struct unwind_state *st, __u64 code)
{
	__u32 slot = (__u32)((code * 0x9E3779B97F4A7C15ULL) >> 56);
	struct py_code_entry *e = bpf_map_lookup_elem(&py_code, &slot);
	__u64 now = st->trace.ktime;
	if (e && e->code == code && e->pid == st->trace.pid && now - e->time < PY_CODE_TTL_NS)
		return e->first;
	__u32 first = 0;
	bpf_probe_read_user(&first, sizeof(first), (void *)(code + st->py.code_firstlineno));
	if (e) {
		e->code = code;
		e->time = now;
		e->first = first;
		e->pid = st->trace.pid;
	}
	return first;
}

/* Reads the first PY_TSTATE_BLOCK bytes of the thread state at ts into
 * ts_buf, in one read. */
static __always_inline int py_tstate_load(struct unwind_state *st, __u64 ts)
{
	return bpf_probe_read_user(st->ts_buf, PY_TSTATE_BLOCK, (void *)ts);
}

/* A field of the thread state in ts_buf; user space checks that the
 * offsets fit the block (bpf.Objects.SetPython). */
static __always_inline __u64 py_tstate_u64(struct unwind_state *st, __u32 off)
{
	return *(__u64 *)&st->ts_buf[off & 0xff];
}

/* Finds the innermost Python frame of the sampled thread: its thread
 * state is the one whose thread_id is the thread's pthread_self(), which
 * on x86-64 is the FS base the kernel keeps for the task. Threads that do
 * not hold the GIL are found the same way. */
static __always_inline __u64 py_thread_frame(struct unwind_state *st, __u32 pid)
{
	__u64 fsbase;
	if (have_task_pt_regs) {
		/* 5.11+: a BTF-typed task reads its fields directly. */
		fsbase = bpf_get_current_task_btf()->thread.fsbase;
	} else {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		fsbase = BPF_CORE_READ(task, thread.fsbase);
	}
	__u32 tid = st->trace.tid;
	__u32 id_off = st->py.tstate_thread_id;
	__u64 ts = 0;
	__u32 slot = tid & (PY_THREAD_SLOTS - 1);
	struct py_thread *c = bpf_map_lookup_elem(&py_threads, &slot);
	if (c && c->tid == tid && c->pid == pid && !py_tstate_load(st, c->tstate) &&
	    py_tstate_u64(st, id_off) == fsbase)
		ts = c->tstate;
	if (!ts) {
		__u64 t = 0;
		if (bpf_probe_read_user(&t, sizeof(t), (void *)st->py.interp_head) || !t ||
		    bpf_probe_read_user(&t, sizeof(t), (void *)(t + st->py.interp_threads_head))) {
			count(C_PY_READ);
			return 0;
		}
		for (int i = 0; i < PY_MAX_THREADS && t; i++) {
			if (py_tstate_load(st, t)) {
				count(C_PY_READ);
				return 0;
			}
			if (py_tstate_u64(st, id_off) == fsbase) {
				ts = t;
				break;
			}
			t = py_tstate_u64(st, st->py.tstate_next);
		}
		if (!ts) {
			count(C_PY_NO_THREAD);
			return 0;
		}
		if (c) {
			c->tstate = ts;
			c->pid = pid;
			c->tid = tid;
		}
	}
	/* ts_buf holds ts now. */
	__u64 f = py_tstate_u64(st, st->py.tstate_frame);
	/* 3.11 and 3.12 keep the current frame in the thread's C frame, which
	 * sits on the thread's stack: read through the stack window. */
	if (f && (st->py.version == 0x30b || st->py.version == 0x30c) &&
	    read_user_u64(st, f + st->py.cframe_current_frame, &f))
		return 0;
	return f;
}

/* Records the Python frames that the eval-loop frame just recorded at
 * ustack[n-1] runs, in its place: one frame up to 3.10; from 3.11 on the
 * frames up to the call's entry frame (3.11: the one marked is_entry;
 * 3.12+: the C stack's own frame, which is skipped). A global function:
 * verified once, whatever calls it. */
__noinline int py_visit(__u32 pid)
{
	__u32 zero = 0;
	struct unwind_state *st = bpf_map_lookup_elem(&scratch, &zero);
	if (!st)
		return 0;
	__u64 t0 = phase_clock();
	if (!st->py_loaded) {
		st->py_loaded = 1;
		st->py_frame = py_thread_frame(st, pid);
		st->t_py_thread += phase_since(t0);
	}
	__u32 n = st->trace.ustack_len;
	if (n == 0 || n > MAX_USTACK)
		return 0;
	__u32 at = n - 1;
	__u32 emitted = 0;
	__u32 ver = st->py.version;
	/* The last code object seen: a recursive call needs no lookup. */
	__u64 last_code = 0;
	__u32 last_first = 0;
	for (int i = 0; i < PY_FRAMES_PER_VISIT; i++) {
		__u64 fr = st->py_frame;
		if (!fr)
			break;
		long b = py_load(st, fr);
		if (b < 0) {
			/* A chain that cannot be read ends here. */
			count(C_PY_READ);
			st->py_frame = 0;
			break;
		}
		__u64 prev = py_u64(st, b, st->py.frame_back);
		if (ver >= 0x30c && py_u8(st, b, st->py.frame_owner) == 3) {
			st->py_frame = prev;
			break;
		}
		__u64 code = py_u64(st, b, st->py.frame_code);
		__u32 lasti;
		if (ver >= 0x30b)
			lasti = (__u32)(py_u64(st, b, st->py.frame_lasti) - (code + st->py.code_adaptive));
		else
			lasti = py_u32(st, b, st->py.frame_lasti);
		__u32 first = last_first;
		if (code != last_code) {
			first = py_first_line(st, code);
			last_code = code;
			last_first = first;
		}
		/* The barrier keeps the bound checked on the register that
		 * indexes: 6.1's verifier loses it on a spilled copy. */
		__u32 idx = at;
		asm volatile("" : "+r"(idx));
		if (idx >= MAX_USTACK)
			break;
		struct frame *f = &st->trace.ustack[idx];
		f->file_id = (PY_FRAME_TAG << 56) | ((__u64)(first & 0xffffff) << 32) | lasti;
		f->addr = code;
		at++;
		emitted++;
		st->py_frame = prev;
		if (ver < 0x30b)
			break;
		if (ver == 0x30b && py_u8(st, b, st->py.frame_owner))
			break;
	}
	st->t_py_walk += phase_since(t0);
	if (emitted) {
		st->trace.ustack_len = at;
		st->n_py += emitted;
	}
	return emitted;
}

/* Whether the cached mapping e holds pc for the sampled process. */
static __always_inline int map_cached(struct unwind_state *st, struct map_cache_entry *e, __u32 pid, __u64 pc)
{
	return e->gen == st->gen && e->pid == pid && e->proc == st->proc && pc >= e->m.start && pc < e->m.end;
}

/* Whether the cached rule e covers addr of file_id. */
static __always_inline int rule_cached(struct rule_cache_entry *e, __u64 file_id, __u64 addr)
{
	return e->file_id == file_id && addr - e->addr < e->len;
}

enum step_result {
	STEP_NEXT = 0, /* one more frame */
	STEP_DONE = 1, /* finished: st->trace.status set, trace sent */
};

/* Offsets in the rt_sigframe the kernel pushes for a signal on x86-64: at
 * the handler's return (RSP after popping pretcode) sits struct ucontext:
 * uc_flags, uc_link, uc_stack (24 bytes), then uc_mcontext (sigcontext). */
#define UC_MCONTEXT 40
#define SC_RBP (UC_MCONTEXT + 80)
#define SC_RSP (UC_MCONTEXT + 120)
#define SC_RIP (UC_MCONTEXT + 128)

/* Records the frame at st->pc and moves the registers to its caller. */
static __always_inline int step(struct unwind_state *st, __u32 pid)
{
	struct trace *t = &st->trace;
	__u32 n = t->ustack_len;
	if (n >= MAX_USTACK) {
		finish(st, STATUS_TRUNCATED);
		return STEP_DONE;
	}
	__u64 pc = st->pc;
	/* m always points at the cached copy, so the verifier sees one
	 * pointer type whichever way the mapping was found. */
	if (!st->have_last_map || pc < st->last_map.start || pc >= st->last_map.end) {
		struct mapping_key mk = {
			.prefixlen = 96,
			.pid = bpf_htonl(pid),
			.addr = bpf_cpu_to_be64(pc),
		};
		st->have_last_map = 0;
		__u32 slot = (__u32)((((__u64)pid << 32) ^ (pc >> 20)) * 0x9E3779B97F4A7C15ULL >> 57);
		struct map_cache_set *cs = bpf_map_lookup_elem(&map_cache, &slot);
		if (cs && map_cached(st, &cs->e[0], pid, pc)) {
			st->last_map = cs->e[0].m;
			st->have_last_map = 1;
		} else if (cs && map_cached(st, &cs->e[1], pid, pc)) {
			st->last_map = cs->e[1].m;
			st->have_last_map = 1;
		} else {
			struct mapping *found = bpf_map_lookup_elem(&pid_mappings, &mk);
			if (found) {
				st->last_map = *found;
				st->have_last_map = 1;
				if (cs) {
					/* The newest in way 0, the one before in way 1. */
					cs->e[1] = cs->e[0];
					cs->e[0].gen = st->gen;
					cs->e[0].proc = st->proc;
					cs->e[0].pid = pid;
					cs->e[0].m = *found;
				}
			}
		}
	}
	struct mapping *m = st->have_last_map ? &st->last_map : 0;
	struct frame *f = &t->ustack[n];
	f->file_id = m ? m->file_id : 0;
	/* A return address names the instruction after the call, which can
	 * belong to the next line or an inlined callee: record the call's
	 * last byte instead, so symbolization names the call site. */
	f->addr = (m ? pc - m->bias : pc) - (st->return_addr ? 1 : 0);
	t->ustack_len = n + 1;
	if (st->py_on && pc >= st->py.eval_start && pc < st->py.eval_end)
		py_visit(pid);

	struct rule r = { .cfa_kind = CFA_INVALID };
	if (!m) {
		request_sync(pid, pc);
	} else if (m->kind == MAPPING_DELTAS) {
		__u64 addr = pc - m->bias;
		if (st->return_addr)
			addr -= 1;
		if (st->have_last_rule && addr - st->last_rule_addr < st->last_rule_len && st->last_rule_file == m->file_id) {
			r = st->last_rule;
		} else {
			/* A return address has a slot of its own. The sampled PC
			 * moves, so it takes the slot of its 256-byte block: a
			 * busy loop keeps hitting a few. */
			__u64 key = st->return_addr ? addr : addr >> 8;
			__u32 slot = (__u32)(((m->file_id ^ (key * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL) >> 55);
			struct rule_cache_set *cs = bpf_map_lookup_elem(&rule_cache, &slot);
			__u64 start;
			__u32 len;
			struct rule_cache_entry *hit = 0;
			if (cs && rule_cached(&cs->e[0], m->file_id, addr))
				hit = &cs->e[0];
			else if (cs && rule_cached(&cs->e[1], m->file_id, addr))
				hit = &cs->e[1];
			if (hit) {
				r = hit->r;
				start = hit->addr;
				len = hit->len;
			} else if (searched_rule(st, m->file_id, addr)) {
				r = st->found_rule;
				start = st->found_start;
				len = st->found_len;
				if (cs) {
					/* The newest in way 0, the one before in way 1. */
					cs->e[1] = cs->e[0];
					cs->e[0].file_id = m->file_id;
					cs->e[0].addr = start;
					cs->e[0].len = len;
					cs->e[0].r = r;
				}
			} else {
				goto no_rule;
			}
			st->last_rule = r;
			st->last_rule_addr = start;
			st->last_rule_len = len;
			st->last_rule_file = m->file_id;
			st->have_last_rule = 1;
		}
no_rule:;
	}

	__u64 cfa, ra, bp = st->bp;
	int may_switch = 0; /* the frame may return to another stack */
	switch (r.cfa_kind) {
	case CFA_END:
		finish(st, STATUS_OK);
		return STEP_DONE;
	case CFA_SIGNAL: {
		/* The trampoline is named at its own address: glibc's FDE
		 * starts a byte early for the pc-1 lookup, on a padding nop
		 * no symbol covers. */
		if (st->return_addr)
			f->addr += 1;
		__u64 sp = st->sp;
		__u64 rip, rsp, rbp;
		if (read_user_u64(st, sp + SC_RIP, &rip) ||
		    read_user_u64(st, sp + SC_RSP, &rsp) ||
		    read_user_u64(st, sp + SC_RBP, &rbp)) {
			finish(st, STATUS_READ_FAILED);
			return STEP_DONE;
		}
		st->pc = rip;
		st->sp = rsp;
		st->bp = rbp;
		/* The interrupted PC is exact, not a return address. */
		st->return_addr = 0;
		st->n_signal++;
		return STEP_NEXT;
	}
	case CFA_RSP:
		cfa = st->sp + r.cfa_off;
		break;
	case CFA_RBP:
		cfa = bp + r.cfa_off;
		break;
	case CFA_DEREF_RBP:
		if (read_user_u64(st, bp + r.cfa_off, &cfa)) {
			finish(st, STATUS_READ_FAILED);
			return STEP_DONE;
		}
		break;
	case CFA_PLT:
		cfa = st->sp + 8 + ((pc & 15) >= (__u64)r.cfa_off ? 8 : 0);
		break;
	default:
		/* No rule: assume a frame-pointer frame. An outermost frame
		 * has RBP 0 by the ABI. */
		if (bp == 0) {
			finish(st, m ? STATUS_OK : STATUS_NO_MAPPING);
			return STEP_DONE;
		}
		cfa = bp + 16;
		r.rbp_kind = RBP_AT_CFA;
		r.rbp_off = -16;
		/* Code with unwind tables that marks a range as having none
		 * (Go's stack-switching functions such as asmcgocall) returns
		 * through its frame pointer to another stack, below this one. */
		may_switch = m && m->kind == MAPPING_DELTAS && (bp & 7) == 0;
		st->n_fp++;
		goto apply;
	}
	st->n_delta++;
apply:
	if (cfa == st->sp || (cfa < st->sp && !may_switch)) {
		finish(st, m ? STATUS_BAD_RULE : STATUS_NO_MAPPING);
		return STEP_DONE;
	}
	if (read_user_u64(st, cfa - 8, &ra)) {
		finish(st, m ? STATUS_READ_FAILED : STATUS_NO_MAPPING);
		return STEP_DONE;
	}
	if (r.rbp_kind == RBP_AT_CFA) {
		if (read_user_u64(st, cfa + r.rbp_off, &bp)) {
			finish(st, STATUS_READ_FAILED);
			return STEP_DONE;
		}
	} else if (r.rbp_kind == RBP_AT_RBP) {
		if (read_user_u64(st, st->bp + r.rbp_off, &bp)) {
			finish(st, STATUS_READ_FAILED);
			return STEP_DONE;
		}
	}
	if (ra == 0) {
		/* A zeroed return address ends frame-pointer chains and some
		 * runtimes' thread starts. */
		finish(st, m ? STATUS_OK : STATUS_NO_MAPPING);
		return STEP_DONE;
	}
	st->pc = ra;
	st->sp = cfa;
	st->bp = bp;
	st->return_addr = 1;
	return STEP_NEXT;
}

/* One frame, as a global function: the verifier checks it once instead of
 * once per unrolled frame, which keeps unwind_native far from its limits
 * (global functions take only scalars on 5.10, so it finds its state
 * itself). */
__noinline int unwind_step(__u32 pid)
{
	struct unwind_state *st = state();
	if (!st)
		return STEP_DONE;
	return step(st, pid);
}

SEC("perf_event")
int unwind_native(struct bpf_perf_event_data *ctx)
{
	struct unwind_state *st = state();
	if (!st)
		return 0;
	__u32 pid = st->trace.pid;
	for (int i = 0; i < FRAMES_PER_PROG; i++) {
		if (unwind_step(pid) == STEP_DONE)
			return 0;
	}
	if (st->tail_calls >= MAX_TAIL_CALLS) {
		finish(st, STATUS_TRUNCATED);
		return 0;
	}
	st->tail_calls++;
	bpf_tail_call(ctx, &progs, PROG_UNWIND_NATIVE);
	finish(st, STATUS_TAIL_CALL);
	return 0;
}

/* Reads the user registers of a task that was sampled in the kernel: the
 * pt_regs the kernel saved at entry, at the top of the task's kernel stack. */
static __always_inline int user_regs_of_current(struct unwind_state *st)
{
	struct pt_regs *regs;
	if (have_task_pt_regs) {
		/* 5.15+: needs the BTF-typed task of 5.11+. */
		regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	} else {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		void *stack = BPF_CORE_READ(task, stack);
		if (!stack)
			return -1;
		regs = (struct pt_regs *)((char *)stack + thread_size) - 1;
	}
	struct pt_regs r;
	if (bpf_probe_read_kernel(&r, sizeof(r), regs))
		return -1;
	st->pc = r.rip;
	st->sp = r.rsp;
	st->bp = r.rbp;
	return 0;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	count(C_SAMPLES);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	if (pid == 0) {
		count(C_IDLE);
		return 0;
	}
	if (filter_pids && !bpf_map_lookup_elem(&pid_filter, &pid)) {
		count(C_FILTERED);
		return 0;
	}
	struct unwind_state *st = state();
	if (!st)
		return 0;
	struct trace *t = &st->trace;
	t->ktime = bpf_ktime_get_ns();
	t->pid = pid;
	t->tid = (__u32)pid_tgid;
	t->cpu = bpf_get_smp_processor_id();
	t->status = STATUS_OK;
	t->ustack_len = 0;
	bpf_get_current_comm(t->comm, sizeof(t->comm));
	st->tail_calls = 0;
	st->return_addr = 0;
	st->have_last_map = 0;
	st->have_last_rule = 0;
	st->n_delta = st->n_fp = st->n_signal = st->n_py = 0;
	st->n_rule_searches = st->n_stack_reads = 0;
	st->t_rule_search = st->t_stack_read = st->t_py_thread = st->t_py_walk = 0;
	st->py_on = 0;
	st->py_loaded = 0;
	st->py_frame = 0;
	st->py_lo = st->py_hi = 0;
	st->stack_lo = st->stack_hi = 0;
	__u32 word = pid / 64;
	__u64 *bits = bpf_map_lookup_elem(&interp_pids, &word);
	if (bits && (*bits >> (pid % 64)) & 1) {
		struct py_proc *pp = bpf_map_lookup_elem(&py_procs, &pid);
		if (pp) {
			st->py = *pp;
			st->py_on = 1;
		}
	}
	__u32 zero = 0;
	__u64 *gen = bpf_map_lookup_elem(&mapping_gen, &zero);
	st->gen = gen ? *gen : 0;
	/* A reused PID is another process, started later. (An exec keeps
	 * both, and its mappings are stale in the trie too until the sync
	 * that follows drops them and bumps the generation.) */
	if (have_task_pt_regs) {
		/* 5.11+: a BTF-typed task reads its fields directly. */
		struct task_struct *cur = bpf_get_current_task_btf();
		st->proc = cur->group_leader->start_time;
	} else {
		struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
		st->proc = BPF_CORE_READ(cur, group_leader, start_time);
	}

	/* Full 8-byte loads: the verifier rejects narrowed loads of cs. */
	__u64 cs = ctx->regs.cs;
	int user_mode = (cs & 3) == 3;
	long kn = 0;
	if (!user_mode)
		kn = bpf_get_stack(ctx, t->kstack, sizeof(t->kstack), 0);
	t->kstack_len = kn > 0 ? kn / 8 : 0;

	if (user_mode) {
		st->pc = ctx->regs.rip;
		st->sp = ctx->regs.rsp;
		st->bp = ctx->regs.rbp;
	} else {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		unsigned int flags = BPF_CORE_READ(task, flags);
		void *mm = BPF_CORE_READ(task, mm);
		if ((flags & PF_KTHREAD) || !mm) {
			count(C_KERNEL_ONLY);
			return finish(st, STATUS_NO_USER);
		}
		if (user_regs_of_current(st))
			return finish(st, STATUS_BAD_REGS);
	}
	if (st->pc == 0)
		return finish(st, STATUS_BAD_REGS);
	if (time_phases)
		count_n(C_T_PROLOGUE, bpf_ktime_get_ns() - t->ktime);
	bpf_tail_call(ctx, &progs, PROG_UNWIND_NATIVE);
	return finish(st, STATUS_TAIL_CALL);
}

/* Process exit. A raw tracepoint needs no tracefs, and reading the current
 * task instead of the arguments makes it independent of the
 * sched_process_exit prototype (6.16 added a group_dead argument). Only
 * the thread-group leader's exit reports the process. */
SEC("raw_tracepoint/sched_process_exit")
int process_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	if (pid != (__u32)pid_tgid)
		return 0;
	bpf_map_delete_elem(&sync_sent, &pid);
	struct event ev = { .kind = EVENT_EXIT, .pid = pid };
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), 0))
		count(C_EVENTS_FULL);
	else
		count(C_EXITS);
	return 0;
}
