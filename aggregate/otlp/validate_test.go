package otlp

import (
	"errors"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/profiles/v1development"
	pb "go.opentelemetry.io/proto/otlp/profiles/v1development"
	"google.golang.org/protobuf/proto"
)

func validRequest(t *testing.T) *collpb.ExportProfilesServiceRequest {
	t.Helper()
	req := Encode(testWindow(t), fakeResolver{}, EncodeOptions{HostName: "box", Period: time.Second / 99})
	if err := Validate(req); err != nil {
		t.Fatalf("valid request rejected: %v", err)
	}
	return req
}

func TestValidateRejects(t *testing.T) {
	sample := func(r *collpb.ExportProfilesServiceRequest) *pb.Sample {
		return r.ResourceProfiles[0].ScopeProfiles[0].Profiles[0].Samples[0]
	}
	cases := map[string]func(r *collpb.ExportProfilesServiceRequest){
		"no dictionary":       func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary = nil },
		"string 0 not empty":  func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary.StringTable[0] = "x" },
		"no mapping table":    func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary.MappingTable = nil },
		"location 0 not zero": func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary.LocationTable[0].Address = 1 },
		"function 0 not zero": func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary.FunctionTable[0].StartLine = 1 },
		"attribute 0 not zero": func(r *collpb.ExportProfilesServiceRequest) {
			r.Dictionary.AttributeTable[0] = r.Dictionary.AttributeTable[1]
		},
		"stack 0 not zero": func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary.StackTable[0].LocationIndices = []int32{1} },
		"link 0 not zero":  func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary.LinkTable[0].TraceId[3] = 1 },
		"stack index past end": func(r *collpb.ExportProfilesServiceRequest) {
			sample(r).StackIndex = int32(len(r.Dictionary.StackTable))
		},
		"negative stack index": func(r *collpb.ExportProfilesServiceRequest) { sample(r).StackIndex = -1 },
		"link index past end":  func(r *collpb.ExportProfilesServiceRequest) { sample(r).LinkIndex = 5 },
		"sample attribute":     func(r *collpb.ExportProfilesServiceRequest) { sample(r).AttributeIndices[0] = 1 << 20 },
		"duplicate sample key": func(r *collpb.ExportProfilesServiceRequest) {
			s := sample(r)
			s.AttributeIndices[1] = s.AttributeIndices[0]
		},
		"empty sample": func(r *collpb.ExportProfilesServiceRequest) { sample(r).TimestampsUnixNano = nil },
		"values and times differ": func(r *collpb.ExportProfilesServiceRequest) {
			s := sample(r)
			s.Values = make([]int64, len(s.TimestampsUnixNano)+1)
		},
		"location index": func(r *collpb.ExportProfilesServiceRequest) {
			r.Dictionary.StackTable[1].LocationIndices[0] = int32(len(r.Dictionary.LocationTable))
		},
		"mapping index": func(r *collpb.ExportProfilesServiceRequest) {
			r.Dictionary.LocationTable[1].MappingIndex = int32(len(r.Dictionary.MappingTable))
		},
		"function index": func(r *collpb.ExportProfilesServiceRequest) {
			r.Dictionary.LocationTable[1].Lines[0].FunctionIndex = 1 << 30
		},
		"function name": func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary.FunctionTable[1].NameStrindex = -3 },
		"filename":      func(r *collpb.ExportProfilesServiceRequest) { r.Dictionary.MappingTable[1].FilenameStrindex = 1 << 20 },
		"mapping attribute": func(r *collpb.ExportProfilesServiceRequest) {
			r.Dictionary.MappingTable[1].AttributeIndices = []int32{int32(len(r.Dictionary.AttributeTable))}
		},
		"attribute key": func(r *collpb.ExportProfilesServiceRequest) {
			r.Dictionary.AttributeTable[1].KeyStrindex = int32(len(r.Dictionary.StringTable))
		},
		"sample type": func(r *collpb.ExportProfilesServiceRequest) {
			r.ResourceProfiles[1].ScopeProfiles[0].Profiles[0].SampleType = &pb.ValueType{TypeStrindex: 1 << 20}
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			req := proto.Clone(validRequest(t)).(*collpb.ExportProfilesServiceRequest)
			breakIt(req)
			err := Validate(req)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate = %v, want ErrInvalid", err)
			}
		})
	}
}
