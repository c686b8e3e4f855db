package otlp

import (
	"errors"
	"fmt"

	collpb "go.opentelemetry.io/proto/otlp/collector/profiles/v1development"
	pb "go.opentelemetry.io/proto/otlp/profiles/v1development"
	"google.golang.org/protobuf/proto"
)

// ErrInvalid is what Validate's errors wrap.
var ErrInvalid = errors.New("invalid OTLP profiles request")

// Validate checks a request as its consumers rely on it: every table of
// the dictionary present with the zero value at index 0, every index
// into a table in range, attribute keys unique within each list, and
// each sample's timestamps and values of equal length when both are set.
func Validate(req *collpb.ExportProfilesServiceRequest) error {
	d := req.GetDictionary()
	if d == nil {
		return fmt.Errorf("%w: no dictionary", ErrInvalid)
	}
	v := validator{d: d}
	v.zeroAtIndex0()
	for i, a := range d.AttributeTable {
		v.str(a.GetKeyStrindex(), "attribute_table[%d].key", i)
		v.str(a.GetUnitStrindex(), "attribute_table[%d].unit", i)
	}
	for i, m := range d.MappingTable {
		v.str(m.GetFilenameStrindex(), "mapping_table[%d].filename", i)
		v.attrs(m.GetAttributeIndices(), "mapping_table[%d]", i)
	}
	for i, f := range d.FunctionTable {
		v.str(f.GetNameStrindex(), "function_table[%d].name", i)
		v.str(f.GetSystemNameStrindex(), "function_table[%d].system_name", i)
		v.str(f.GetFilenameStrindex(), "function_table[%d].filename", i)
	}
	for i, l := range d.LocationTable {
		v.index(l.GetMappingIndex(), len(d.MappingTable), "location_table[%d].mapping_index", i)
		v.attrs(l.GetAttributeIndices(), "location_table[%d]", i)
		for j, line := range l.GetLines() {
			v.index(line.GetFunctionIndex(), len(d.FunctionTable), "location_table[%d].lines[%d].function_index", i, j)
		}
	}
	for i, s := range d.StackTable {
		for j, li := range s.GetLocationIndices() {
			v.index(li, len(d.LocationTable), "stack_table[%d].location_indices[%d]", i, j)
		}
	}
	for i, rp := range req.ResourceProfiles {
		for j, sp := range rp.GetScopeProfiles() {
			for k, p := range sp.GetProfiles() {
				v.profile(p, fmt.Sprintf("resource_profiles[%d].scope_profiles[%d].profiles[%d]", i, j, k))
			}
		}
	}
	return v.err
}

type validator struct {
	d   *pb.ProfilesDictionary
	err error
}

func (v *validator) fail(format string, args ...any) {
	if v.err == nil {
		v.err = fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
}

func (v *validator) index(i int32, n int, what string, args ...any) {
	if i < 0 || int(i) >= n {
		v.fail("%s = %d, table has %d entries", fmt.Sprintf(what, args...), i, n)
	}
}

func (v *validator) str(i int32, what string, args ...any) {
	v.index(i, len(v.d.StringTable), what, args...)
}

// attrs checks a list of attribute indices: in range, keys unique.
func (v *validator) attrs(idx []int32, what string, args ...any) {
	seen := make(map[int32]bool, len(idx))
	for j, ai := range idx {
		v.index(ai, len(v.d.AttributeTable), what+".attribute_indices[%d]", append(args, j)...)
		if ai <= 0 || int(ai) >= len(v.d.AttributeTable) {
			continue
		}
		k := v.d.AttributeTable[ai].GetKeyStrindex()
		if seen[k] {
			v.fail("%s: attribute key %d twice", fmt.Sprintf(what, args...), k)
		}
		seen[k] = true
	}
}

// zeroAtIndex0 checks that each table is present with its zero value
// first. The link table's zero value is all-zero IDs of full length.
func (v *validator) zeroAtIndex0() {
	d := v.d
	if len(d.StringTable) == 0 || d.StringTable[0] != "" {
		v.fail(`string_table[0] must be ""`)
	}
	zero := func(name string, n int, m proto.Message, empty proto.Message) {
		if n == 0 {
			v.fail("%s is empty: index 0 must hold the zero value", name)
		} else if !proto.Equal(m, empty) {
			v.fail("%s[0] is not the zero value", name)
		}
	}
	zero("mapping_table", len(d.MappingTable), first(d.MappingTable), &pb.Mapping{})
	zero("location_table", len(d.LocationTable), first(d.LocationTable), &pb.Location{})
	zero("function_table", len(d.FunctionTable), first(d.FunctionTable), &pb.Function{})
	zero("attribute_table", len(d.AttributeTable), first(d.AttributeTable), &pb.KeyValueAndUnit{})
	zero("stack_table", len(d.StackTable), first(d.StackTable), &pb.Stack{})
	if len(d.LinkTable) == 0 {
		v.fail("link_table is empty: index 0 must hold the zero value")
	} else if l := d.LinkTable[0]; !allZero(l.GetTraceId()) || !allZero(l.GetSpanId()) {
		v.fail("link_table[0] is not the zero value")
	}
}

func first[T proto.Message](s []T) proto.Message {
	if len(s) == 0 {
		var zero T
		return zero
	}
	return s[0]
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (v *validator) profile(p *pb.Profile, where string) {
	v.str(p.GetSampleType().GetTypeStrindex(), "%s.sample_type.type", where)
	v.str(p.GetSampleType().GetUnitStrindex(), "%s.sample_type.unit", where)
	v.str(p.GetPeriodType().GetTypeStrindex(), "%s.period_type.type", where)
	v.str(p.GetPeriodType().GetUnitStrindex(), "%s.period_type.unit", where)
	v.attrs(p.GetAttributeIndices(), "%s", where)
	for i, s := range p.GetSamples() {
		v.index(s.GetStackIndex(), len(v.d.StackTable), "%s.samples[%d].stack_index", where, i)
		v.index(s.GetLinkIndex(), len(v.d.LinkTable), "%s.samples[%d].link_index", where, i)
		v.attrs(s.GetAttributeIndices(), "%s.samples[%d]", where, i)
		nv, nt := len(s.GetValues()), len(s.GetTimestampsUnixNano())
		if nv == 0 && nt == 0 {
			v.fail("%s.samples[%d] has neither values nor timestamps", where, i)
		}
		if nv > 0 && nt > 0 && nv != nt {
			v.fail("%s.samples[%d] has %d values and %d timestamps", where, i, nv, nt)
		}
	}
}
