/* Shared layouts between the BPF programs and user space. bpf2go turns the
 * structs named with -type in gen.go into Go types; keep every field
 * naturally aligned so both sides agree without packing tricks. */
#ifndef PFTOP_TYPES_H
#define PFTOP_TYPES_H

#define MAX_KSTACK 127      /* kernel frames, the perf default */
#define MAX_USTACK 384      /* user frames; the issue asks for >= 256 */
#define FRAMES_PER_PROG 16  /* user frames walked per tail-called program */
#define MAX_TAIL_CALLS 32   /* 5.10 allows 33 chained tail calls */
#define DELTA_PAGE_BITS 16  /* stack-delta pages cover 64 KiB of text */
#define BSEARCH_STEPS 17    /* enough for 65536 deltas in one page */
#define DELTA_SUB_BITS 12   /* a page's deltas are indexed by 4 KiB sub-page */
#define DELTA_SUBS 16       /* sub-pages per page */
#define DELTA_CHUNK 2       /* deltas per element of the deltas array */
#define MAP_CACHE_SETS 128  /* per-CPU cache of mappings found in the trie, 2 ways */
#define RULE_CACHE_SETS 512 /* per-CPU cache of rules found by address, 2 ways */
#define PY_FRAMES_PER_VISIT 32 /* Python frames one eval-loop frame may run */
#define PY_MAX_THREADS 64   /* thread states searched for the sampled thread */
#define PY_FRAME_BLOCK 128  /* bytes of a Python frame read at once */
#define PY_TSTATE_BLOCK 192 /* bytes of a thread state read at once */
#define PY_THREAD_SLOTS 256 /* per-CPU cache of thread states by TID */
#define STACK_WINDOW 1024   /* bytes of the user stack read at once, aligned */
#define PY_WINDOW 4096      /* 3.11+: bytes of the frame stack read at once */
#define PY_CODE_SLOTS 256   /* per-CPU cache of code objects' co_firstlineno */
#define PY_CODE_TTL_NS 1000000000ULL /* how long a cached co_firstlineno is trusted */
#define PY_FRAME_TAG 0xFEULL /* top byte of the file_id of a Python frame */
#define INTERP_PID_WORDS 65536 /* bitmap of interpreter PIDs: 4M PIDs */

/* Tail-call slots of the program array. */
enum prog_slot {
	PROG_UNWIND_NATIVE = 0,
	PROG_SLOTS,
};

/* How a mapping is unwound. */
enum mapping_kind {
	MAPPING_DELTAS = 1, /* stack deltas published for file_id */
	MAPPING_FP = 2,     /* no unwind info: frame pointers */
};

/* CFA rule kinds; the numbers equal unwinder/deltas.CFAKind. */
enum cfa_kind {
	CFA_INVALID = 0,
	CFA_RSP = 1,
	CFA_RBP = 2,
	CFA_DEREF_RBP = 3,
	CFA_PLT = 4,
	CFA_END = 5,
	CFA_SIGNAL = 6,
};

/* RBP rule kinds; the numbers equal unwinder/deltas.RBPKind. */
enum rbp_kind {
	RBP_SAME = 0,
	RBP_AT_CFA = 1,
	RBP_AT_RBP = 2,
};

/* Why a user stack ended. STATUS_OK means the walk reached the outermost
 * frame; every other value is an error the trace carries as its root. */
enum unwind_status {
	STATUS_OK = 0,
	STATUS_NO_USER = 1,      /* kernel thread: no user stack to walk */
	STATUS_NO_MAPPING = 2,   /* PC outside every known mapping */
	STATUS_NO_UNWIND = 3,    /* no rule and frame pointers failed */
	STATUS_READ_FAILED = 4,  /* reading the user stack faulted */
	STATUS_TRUNCATED = 5,    /* more than MAX_USTACK frames */
	STATUS_BAD_REGS = 6,     /* the user registers could not be read */
	STATUS_BAD_RULE = 7,     /* a rule gave a CFA below the stack pointer */
	STATUS_TAIL_CALL = 8,    /* a tail call failed */
};

/* Per-CPU counters, read and summed by user space. */
enum counter {
	C_SAMPLES = 0,      /* perf events that ran the program */
	C_IDLE,             /* samples of the idle task, dropped */
	C_TRACES_SENT,      /* trace records in the ring buffer */
	C_RING_FULL,        /* traces dropped: ring buffer full */
	C_KERNEL_ONLY,      /* samples of kernel threads */
	C_ERR_NO_MAPPING,   /* user stacks ended: unknown PC */
	C_ERR_NO_UNWIND,    /* user stacks ended: no rule, no frame pointer */
	C_ERR_READ,         /* user stacks ended: stack read faulted */
	C_ERR_TRUNCATED,    /* user stacks cut at MAX_USTACK */
	C_ERR_BAD_REGS,     /* user registers unreadable */
	C_ERR_BAD_RULE,     /* CFA went backwards */
	C_ERR_TAIL_CALL,    /* tail call failed */
	C_FP_FRAMES,        /* frames unwound by the frame-pointer fallback */
	C_DELTA_FRAMES,     /* frames unwound by stack deltas */
	C_SIGNAL_FRAMES,    /* signal frames unwound through */
	C_SYNC_SENT,        /* sync requests sent */
	C_SYNC_LIMITED,     /* sync requests suppressed by the rate limit */
	C_EVENTS_FULL,      /* sync or exit events dropped: ring full */
	C_EXITS,            /* process exits reported */
	C_FILTERED,         /* samples of processes outside the PID filter */
	C_PY_FRAMES,        /* Python frames recorded */
	C_PY_NO_THREAD,     /* Python samples whose thread state was not found */
	C_PY_READ,          /* Python walks ended: interpreter memory unreadable */
	C_UNWIND_NS,        /* ns from a sample's start to its trace sent, summed */
	C_RULE_SEARCHES,    /* rules searched for: misses of the rule caches */
	C_STACK_READS,      /* stack windows read */
	/* With time_phases set (pftop --bpf-timing): ns spent in each phase,
	 * summed; each timer costs a clock read. */
	C_T_PROLOGUE,       /* from the sample's start to the user walk */
	C_T_RULE_SEARCH,    /* searching rules */
	C_T_STACK_READ,     /* reading stack windows */
	C_T_PY_THREAD,      /* finding a Python thread's state */
	C_T_PY_WALK,        /* recording Python frames, thread state included */
	C_T_SEND,           /* writing the trace to the ring */
	C_COUNTERS,
};

struct mapping_key {
	__u32 prefixlen;
	__u32 pid;  /* big-endian */
	__u64 addr; /* big-endian */
};

struct mapping {
	__u64 file_id; /* 0: anonymous memory (JIT) */
	__u64 bias;    /* file address = PC - bias */
	__u64 start;   /* the whole mapping, so the unwinder can reuse */
	__u64 end;     /* one lookup for consecutive frames in it */
	__u32 kind;    /* enum mapping_kind */
	__u32 pad;
};

/* An element of the deltas array: two deltas, the even index in the low
 * half. Array elements are rounded up to 8 bytes, so single 4-byte deltas
 * would waste half the memory; and picking a half by shifting, not by a
 * variable offset into the value, spares the verifier from tracking the
 * search bounds precisely (which defeats its state pruning). */
struct delta_chunk {
	__u64 pair;
};

struct page_key {
	__u64 file_id;
	__u64 page; /* file address >> DELTA_PAGE_BITS */
};

/* Deltas of one page sit at delta indexes [start, start+count) (index i
 * is element i / DELTA_CHUNK, slot i % DELTA_CHUNK), sorted, each encoded
 * as (offset in page << 16) | rule index. sub[k] counts the page's deltas
 * below sub-page k, so a search starts within one sub-page: each step of
 * a search is a cache miss, and the first ones, far apart, cost most. */
struct page_val {
	__u32 start;
	__u32 count;
	__u16 sub[DELTA_SUBS];
};

struct rule {
	__u8 cfa_kind;
	__u8 rbp_kind;
	__u16 pad;
	__s32 cfa_off;
	__s32 rbp_off;
};

/* A per-CPU cache slot of a mapping found in the trie. The trie lookup
 * is the costliest step of a frame; a busy process's frames fall in the
 * same few mappings sample after sample. Entries are valid for the same
 * process (PID and start time: a reused PID starts later) while the
 * mapping generation they were filled under is current. */
struct map_cache_entry {
	__u64 gen;
	__u64 proc;
	__u32 pid;
	__u32 pad;
	struct mapping m;
};

/* Two ways of the mapping cache: a process's text and libraries hash
 * apart, but one way alone let two of a few busy mappings evict each
 * other sample after sample. */
struct map_cache_set {
	struct map_cache_entry e[2];
};

/* A per-CPU cache slot of the rule for the file addresses [addr,
 * addr+len) of one file: the stretch between two deltas, within a delta
 * page. A rule depends only on the file's content, which its ID names, so
 * entries never go stale. Return addresses repeat from sample to sample;
 * the sampled PC does not, but a busy loop stays in one stretch. */
struct rule_cache_entry {
	__u64 file_id;
	__u64 addr;
	struct rule r;
	__u32 len;
};

/* Two ways of the rule cache, in one cache line. */
struct rule_cache_set {
	struct rule_cache_entry e[2];
};

/* A CPython process, as interpreters/python detected it: where the
 * interpreter state is, the eval loop's address range and the offsets of
 * the fields the walker reads, for its version. */
struct py_proc {
	__u64 interp_head; /* address of the first PyInterpreterState* */
	__u64 eval_start;  /* [eval_start, eval_end): the eval loop */
	__u64 eval_end;
	__u32 version;     /* major << 8 | minor */
	__u32 interp_threads_head;
	__u32 tstate_next;
	__u32 tstate_thread_id;
	__u32 tstate_frame;
	__u32 cframe_current_frame;
	__u32 frame_back;
	__u32 frame_code;
	__u32 frame_lasti;
	__u32 frame_owner;
	__u32 code_firstlineno;
	__u32 code_adaptive;
	__u32 pad;
};

/* A per-CPU cache slot of a code object's co_firstlineno, so the check
 * that lets user space detect a freed or reused code object costs a read
 * per code object per second, not per frame. */
struct py_code_entry {
	__u64 code;
	__u64 time;
	__u32 first;
	__u32 pid;
};

/* The thread state last found for a thread. */
struct py_thread {
	__u64 tstate;
	__u32 pid;
	__u32 tid;
};

/* A frame of the trace. Native frames carry the executable's short file
 * ID (0: no file) and the file address. A Python frame has file_id
 * PY_FRAME_TAG << 56 | (co_firstlineno & 0xffffff) << 32 | lasti, and
 * addr the code object's address; no native file ID has that top byte. */
struct frame {
	__u64 file_id;
	__u64 addr;
};

/* One sample. The record sent holds the header, ustack_len user frames
 * and then kstack_len kernel addresses, packed: the kernel stack is moved
 * down behind the user frames before sending, so a sample copies only what
 * it has (most samples hit user mode and carry no kernel stack at all).
 * ustack has room for the moved kernel stack after MAX_USTACK frames. */
struct trace {
	__u64 ktime;
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__u32 status; /* enum unwind_status */
	__u32 kstack_len;
	__u32 ustack_len;
	char comm[16];
	struct frame ustack[MAX_USTACK + (MAX_KSTACK + 1) / 2];
	__u64 kstack[MAX_KSTACK];
	__u64 pad;
};

enum event_kind {
	EVENT_SYNC = 1, /* (re)read this process's mappings */
	EVENT_EXIT = 2, /* the process exited */
};

struct event {
	__u32 kind;
	__u32 pid;
	__u64 addr; /* for EVENT_SYNC: the PC that had no mapping (0: none) */
};

#endif
