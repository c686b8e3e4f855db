package unwinder

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/pftop/pftop/bpf"
)

// Maps is where the manager publishes what the BPF unwinder reads. The
// live implementation writes the kernel maps; tests record the writes.
type Maps interface {
	PutMapping(k bpf.MappingKey, v bpf.Mapping) error
	DeleteMapping(k bpf.MappingKey) error
	PutRule(idx uint16, r bpf.Rule) error
	// PutDeltas writes entries at delta index start, a multiple of
	// bpf.DeltaChunkSize; the last chunk is padded with zeros.
	PutDeltas(start uint32, entries []uint32) error
	PutPages(keys []bpf.PageKey, vals []bpf.PageVal) error
	DeletePages(keys []bpf.PageKey) error
	// MappingsDropped says mappings of a live process were removed or
	// replaced, so the BPF side stops using mappings it cached.
	MappingsDropped() error
}

// KernelMaps writes the maps of loaded BPF objects.
type KernelMaps struct {
	Objs *bpf.Objects
}

func (k KernelMaps) PutMapping(key bpf.MappingKey, v bpf.Mapping) error {
	return k.Objs.PidMappings.Update(&key, &v, ebpf.UpdateAny)
}

func (k KernelMaps) DeleteMapping(key bpf.MappingKey) error {
	err := k.Objs.PidMappings.Delete(&key)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil
	}
	return err
}

func (k KernelMaps) MappingsDropped() error {
	var gen uint64
	if err := k.Objs.MappingGen.Lookup(uint32(0), &gen); err != nil {
		return fmt.Errorf("read mapping generation: %w", err)
	}
	// Only user space bumps it, from the manager's lock.
	if err := k.Objs.MappingGen.Update(uint32(0), gen+1, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("bump mapping generation: %w", err)
	}
	return nil
}

func (k KernelMaps) PutRule(idx uint16, r bpf.Rule) error {
	return k.Objs.Rules.Update(uint32(idx), &r, ebpf.UpdateAny)
}

// batch is how many elements one batch syscall carries.
const batch = 8192

func (k KernelMaps) PutDeltas(start uint32, entries []uint32) error {
	const cs = bpf.DeltaChunkSize
	if start%cs != 0 {
		return fmt.Errorf("write deltas: start %d not chunk aligned", start)
	}
	chunks := make([]bpf.DeltaChunk, (uint32(len(entries))+cs-1)/cs)
	for i, e := range entries {
		chunks[uint32(i)/cs].Pair |= uint64(e) << (32 * (uint32(i) % cs))
	}
	keys := make([]uint32, len(chunks))
	for i := range keys {
		keys[i] = start/cs + uint32(i)
	}
	for off := 0; off < len(chunks); off += batch {
		end := min(off+batch, len(chunks))
		if err := batchUpdate(k.Objs.Deltas, keys[off:end], chunks[off:end]); err != nil {
			return fmt.Errorf("write deltas: %w", err)
		}
	}
	return nil
}

func (k KernelMaps) PutPages(keys []bpf.PageKey, vals []bpf.PageVal) error {
	for off := 0; off < len(keys); off += batch {
		end := min(off+batch, len(keys))
		if err := batchUpdate(k.Objs.DeltaPages, keys[off:end], vals[off:end]); err != nil {
			return fmt.Errorf("write delta pages: %w", err)
		}
	}
	return nil
}

func (k KernelMaps) DeletePages(keys []bpf.PageKey) error {
	for i := range keys {
		if err := k.Objs.DeltaPages.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("delete delta page: %w", err)
		}
	}
	return nil
}

// batchUpdate uses one syscall per batch where the kernel supports it
// (5.6+) and falls back to one per element.
func batchUpdate[K, V any](m *ebpf.Map, keys []K, vals []V) error {
	_, err := m.BatchUpdate(keys, vals, nil)
	if err == nil || !errors.Is(err, ebpf.ErrNotSupported) {
		return err
	}
	for i := range keys {
		if err := m.Update(&keys[i], &vals[i], ebpf.UpdateAny); err != nil {
			return err
		}
	}
	return nil
}
