package ui

import (
	"cmp"
	"slices"

	"github.com/pftop/pftop/aggregate"
)

// frameID names a node among its siblings, as the store merges them: by
// function name and module.
type frameID struct{ name, module string }

func idOf(n *aggregate.TreeNode) frameID { return frameID{n.Name, n.Module} }

// flamePath is the way to a node from the root of its tree (the root
// itself not included). Paths, not nodes, identify what the user chose:
// every refresh brings a new tree.
type flamePath []frameID

// flameSel is a frame of the graph: its pane and its path there. In a
// sandwich, the function is the empty path of paneCallees.
type flameSel struct {
	pane flamePane
	path flamePath
}

func (s flameSel) equal(o flameSel) bool {
	return s.pane == o.pane && slices.Equal(s.path, o.path)
}

// within reports whether s is o or under it.
func (s flameSel) within(o flameSel) bool {
	if len(o.path) == 0 && (o.pane == paneCallees || o.pane == s.pane) {
		return true // the root of a graph, or a sandwich's function
	}
	return s.pane == o.pane && len(s.path) >= len(o.path) && slices.Equal(s.path[:len(o.path)], o.path)
}

// resolve follows path from root and returns the nodes it goes through,
// root first, as far as the tree has them.
func resolve(root *aggregate.TreeNode, path flamePath) []*aggregate.TreeNode {
	if root == nil {
		return nil
	}
	chain := make([]*aggregate.TreeNode, 1, len(path)+1)
	chain[0] = root
	n := root
	for _, id := range path {
		next := childByID(n, id)
		if next == nil {
			break
		}
		chain = append(chain, next)
		n = next
	}
	return chain
}

func childByID(n *aggregate.TreeNode, id frameID) *aggregate.TreeNode {
	for _, c := range n.Children {
		if c.Name == id.name && c.Module == id.module {
			return c
		}
	}
	return nil
}

// matchedSamples counts the samples under nodes (below n) whose name
// contains q, each sample once however many matches its path holds.
func matchedSamples(n *aggregate.TreeNode, q string) int64 {
	var sum int64
	for _, c := range n.Children {
		if indexFold(c.Name, q) >= 0 {
			sum += c.Total
		} else {
			sum += matchedSamples(c, q)
		}
	}
	return sum
}

// sandwichTree merges the subtrees of tree whose root is the function fn,
// where it is met first on the way from the root, into one tree rooted at
// fn: from the call tree, the callees of fn; from the inverted tree, its
// callers. Each sample with fn in its path counts once. The result is
// new: the Source's tree is not modified. It is nil when fn is not in
// the tree.
func sandwichTree(tree *aggregate.TreeNode, fn funcRef) *aggregate.TreeNode {
	if tree == nil {
		return nil
	}
	m := merger{index: map[*aggregate.TreeNode]map[frameID]*aggregate.TreeNode{}}
	var out *aggregate.TreeNode
	var walk func(n *aggregate.TreeNode)
	walk = func(n *aggregate.TreeNode) {
		for _, c := range n.Children {
			if c.Name != fn.name || c.Module != fn.module {
				walk(c)
				continue
			}
			if out == nil {
				out = &aggregate.TreeNode{Name: c.Name, Module: c.Module, Kind: c.Kind}
			}
			m.merge(out, c)
		}
	}
	walk(tree)
	if out != nil {
		sortTree(out)
	}
	return out
}

// merger adds trees together, looking children up by their ID.
type merger struct {
	index map[*aggregate.TreeNode]map[frameID]*aggregate.TreeNode
}

// merge adds src's counts and subtree to dst.
func (m *merger) merge(dst, src *aggregate.TreeNode) {
	dst.Self += src.Self
	dst.Total += src.Total
	if len(src.Children) == 0 {
		return
	}
	idx := m.index[dst]
	if idx == nil {
		idx = make(map[frameID]*aggregate.TreeNode, len(src.Children))
		m.index[dst] = idx
	}
	for _, c := range src.Children {
		id := idOf(c)
		d := idx[id]
		if d == nil {
			d = &aggregate.TreeNode{Name: c.Name, Module: c.Module, Kind: c.Kind}
			idx[id] = d
			dst.Children = append(dst.Children, d)
		}
		m.merge(d, c)
	}
}

// sortTree sorts children as the store does: by Total descending, then
// Name and Module, the pruned "…" last.
func sortTree(n *aggregate.TreeNode) {
	slices.SortFunc(n.Children, func(a, b *aggregate.TreeNode) int {
		if oa, ob := isOther(a), isOther(b); oa != ob {
			if oa {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Module, b.Module))
	})
	for _, c := range n.Children {
		sortTree(c)
	}
}
