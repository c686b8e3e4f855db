package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pftop/pftop/aggregate"
)

// fakeStack is a stack of "name" or "name@module" frames, root first,
// and its samples. Modules in brackets are the kernel's; names in
// brackets are unwind errors.
type fakeStack struct {
	frames string // "a;b@m;c"
	count  int64
}

// fakeStacks is the profile behind newFake's trees: 10000 samples of a
// Go program, a Python one with thirty small helpers, a C++ one with a
// name in Japanese, kernel threads and failed unwinds.
func fakeStacks() []fakeStack {
	go_ := "runtime.main@spinner;main.main@spinner;"
	sys := "entry_SYSCALL_64_after_hwframe@[kernel];do_syscall_64@[kernel];"
	py := "_start@python3;Py_RunMain@libpython3.11.so.1.0;PyEval_EvalFrameDefault@libpython3.11.so.1.0"
	stacks := []fakeStack{
		{go_ + "main.work@spinner;main.spin@spinner", 2450},
		{go_ + "main.work@spinner;main.spin@spinner;" + sys + "tcp_sendmsg_locked@[kernel]", 95},
		{go_ + "main.work@spinner;main.spin@spinner;" + sys + "copy_user_enhanced_fast_string@[kernel]", 55},
		{go_ + "main.work@spinner;runtime.mallocgc@spinner", 830},
		{go_ + "main.work@spinner;runtime.mallocgc@spinner;__memmove_avx_unaligned_erms@libc.so.6", 570},
		{go_ + "main.work@spinner", 180},
		{go_ + "main.other@spinner", 600},
		{go_ + "main.other@spinner;runtime.mallocgc@spinner", 150},
		{go_ + "json.(*decodeState).object@api", 120},
		{py, 410},
		{"Widget::render@widgetd", 90},
		{"Widget::render@widgetd;std::vector<std::pair<std::string, std::unique_ptr<Widget>>>::_M_realloc_insert@widgetd", 500},
		{"Widget::render@widgetd;日本語の関数@widgetd", 150},
		{sys[:len(sys)-1], 610},
		{"[unwind error: no unwind info]", 220},
	}
	var sum int64
	for _, s := range stacks {
		sum += s.count
	}
	for i := range 30 {
		n := int64(60 - i)
		stacks = append(stacks, fakeStack{fmt.Sprintf("%s;pkg.helper%02d@api", py, i), n})
		sum += n
	}
	stacks = append(stacks, fakeStack{py + ";runtime.mallocgc@spinner", 10000 - sum})
	return stacks
}

// treeOf builds the call tree (or the inverted tree) of stacks the way
// the store does: root "all", children by Total descending, then Name
// and Module.
func treeOf(stacks []fakeStack, inverted bool) *aggregate.TreeNode {
	root := &aggregate.TreeNode{Name: "all"}
	for _, s := range stacks {
		frames := strings.Split(s.frames, ";")
		if s.frames == "" {
			frames = nil
		}
		if inverted {
			slices.Reverse(frames)
		}
		n := root
		n.Total += s.count
		for _, f := range frames {
			name, module, _ := strings.Cut(f, "@")
			kind := aggregate.KindNative
			switch {
			case strings.HasPrefix(module, "["):
				kind = aggregate.KindKernel
			case strings.HasPrefix(name, "["):
				kind = aggregate.KindError
			}
			c := childByID(n, frameID{name, module})
			if c == nil {
				c = &aggregate.TreeNode{Name: name, Module: module, Kind: kind}
				n.Children = append(n.Children, c)
			}
			c.Total += s.count
			n = c
		}
		n.Self += s.count
	}
	var sortAll func(n *aggregate.TreeNode)
	sortAll = func(n *aggregate.TreeNode) {
		slices.SortFunc(n.Children, func(a, b *aggregate.TreeNode) int {
			return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Module, b.Module))
		})
		for _, c := range n.Children {
			sortAll(c)
		}
	}
	sortAll(root)
	return root
}
