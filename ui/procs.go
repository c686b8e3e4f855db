package ui

import (
	"strconv"

	tea "charm.land/bubbletea/v2"

	"github.com/pftop/pftop/aggregate"
)

// procsModel is the process picker (`p`): processes by their share of
// the samples; the chosen ones filter every view.
type procsModel = picker[aggregate.ProcessRow, uint32]

func newProcsModel(c Common) procsModel {
	return procsModel{common: c, spec: &pickerSpec[aggregate.ProcessRow, uint32]{
		title:   "Processes by CPU share",
		key:     func(r *aggregate.ProcessRow) uint32 { return r.PID },
		samples: func(r *aggregate.ProcessRow) int64 { return r.Samples },
		columns: []pickerColumn[aggregate.ProcessRow]{
			{title: "SAMPLES", width: countWidth, right: true,
				text: func(r *aggregate.ProcessRow) string { return strconv.FormatInt(r.Samples, 10) }},
			{title: "PID", width: 7, right: true,
				text: func(r *aggregate.ProcessRow) string { return strconv.FormatUint(uint64(r.PID), 10) }},
			{title: "THREADS", width: 7, right: true,
				text: func(r *aggregate.ProcessRow) string { return strconv.Itoa(r.Threads) }},
			{title: "COMM", width: 16,
				text: func(r *aggregate.ProcessRow) string { return r.Comm }},
			{title: "CONTAINER", muted: true,
				text: func(r *aggregate.ProcessRow) string {
					if r.Container == "" {
						return ""
					}
					return shortContainer(r.Container)
				}},
		},
		pick: func(pids []uint32) tea.Msg { return pickProcsMsg{pids} },
	}}
}
