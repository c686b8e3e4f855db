// Package deltas turns the unwind information of an executable (.eh_frame,
// .debug_frame, and later .gopclntab) into stack deltas: a sorted list of
// addresses at which the rule for finding the caller's frame changes.
//
// A Table is what the BPF unwinder consumes after the unwinder package pages
// it into maps. Only the registers the x86-64 unwinder tracks appear here:
// the CFA is computed from RSP or RBP, the return address is always at
// CFA-8 (System V ABI), and RBP is either unchanged or restored from memory.
//
// Extract and ExtractELF read .eh_frame (found through PT_GNU_EH_FRAME
// when section headers are missing) and .debug_frame, run every FDE's
// DW_CFA program and map each row to a Rule; where both sections describe
// an address, .eh_frame wins. Files without either wrap ErrNoUnwindInfo.
//
// Security: every input is untrusted (pftop opens whatever a process maps).
// Parsers bound every length by the section size and return errors; they
// never panic.
package deltas

// CFAKind says how the canonical frame address is computed.
type CFAKind uint8

const (
	// CFAInvalid: no usable unwind information at this address (a gap
	// between functions or an expression we do not understand). The BPF
	// side falls back to frame pointers.
	CFAInvalid CFAKind = iota
	// CFARSP: CFA = RSP + Offset.
	CFARSP
	// CFARBP: CFA = RBP + Offset.
	CFARBP
	// CFADerefRBP: CFA = *(RBP + Offset), the stack-realignment prologue
	// gcc emits as DW_OP_breg6 OFF; DW_OP_deref.
	CFADerefRBP
	// CFAPLT: a PLT stub: CFA = RSP + 8, plus 8 more when (RIP & 15) >=
	// Offset (the DW_OP expression binutils emits; Offset is 10 or 11, and
	// 9 for the PLTs of IBT-enabled builds).
	CFAPLT
	// CFAEnd: the return address is undefined (DW_CFA_undefined rip):
	// this is the outermost frame (_start, a thread's start). A complete
	// stack ends here.
	CFAEnd
	// CFASignal: a signal trampoline (CIE augmentation "S", e.g.
	// __restore_rt): the caller's registers are in the ucontext at RSP.
	CFASignal
)

// RBPKind says where the caller's RBP is.
type RBPKind uint8

const (
	// RBPSame: RBP still holds the caller's value.
	RBPSame RBPKind = iota
	// RBPAtCFA: the caller's RBP is saved at CFA + Offset.
	RBPAtCFA
	// RBPAtRBP: the caller's RBP is saved at RBP + Offset (DW_CFA_expression
	// rbp: DW_OP_breg6 OFF), used together with CFADerefRBP.
	RBPAtRBP
)

// Rule is the unwind rule in force from a Delta's address to the next one.
type Rule struct {
	CFA       CFAKind
	RBP       RBPKind
	CFAOffset int32
	RBPOffset int32
}

// Delta says that from Addr (an ELF virtual address, before relocation)
// until the next Delta's address, Rule applies.
type Delta struct {
	Addr uint64
	Rule Rule
}

// Table is the stack deltas of one executable: sorted by Addr, strictly
// increasing, with no two consecutive entries holding the same Rule. The
// end of each function that is not followed immediately by another is
// marked by a Delta with CFA == CFAInvalid.
type Table struct {
	Deltas []Delta
}
