package ui

import (
	"strconv"

	tea "charm.land/bubbletea/v2"

	"github.com/pftop/pftop/aggregate"
)

// containersModel is the container picker (`c`): containers (and the
// host) by their share of the samples; the chosen ones filter every view.
type containersModel = picker[aggregate.ContainerRow, string]

func newContainersModel(c Common) containersModel {
	return containersModel{common: c, spec: &pickerSpec[aggregate.ContainerRow, string]{
		title:   "Containers by CPU share",
		key:     func(r *aggregate.ContainerRow) string { return r.ID },
		samples: func(r *aggregate.ContainerRow) int64 { return r.Samples },
		columns: []pickerColumn[aggregate.ContainerRow]{
			{title: "SAMPLES", width: countWidth, right: true,
				text: func(r *aggregate.ContainerRow) string { return strconv.FormatInt(r.Samples, 10) }},
			{title: "PROCS", width: 6, right: true,
				text: func(r *aggregate.ContainerRow) string { return strconv.Itoa(r.Processes) }},
			{title: "CONTAINER",
				text: func(r *aggregate.ContainerRow) string {
					if r.ID == "" {
						return "(host)"
					}
					return r.ID
				}},
		},
		pick: func(ids []string) tea.Msg { return pickContainersMsg{ids} },
	}}
}
