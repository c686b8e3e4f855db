package bpf

// The generated objects and bindings are committed so that a plain
// `go build` needs no clang; `make generate` reruns this.
//go:generate go tool bpf2go -cc clang-19 -cflags "-O2 -g -Wall -Werror" -target amd64 -type trace -type frame -type event -type mapping_key -type mapping -type page_key -type page_val -type delta_chunk -type rule -type map_cache_entry -type map_cache_set -type rule_cache_entry -type rule_cache_set -type py_proc -type py_thread -type py_code_entry -type counter -type unwind_status -type event_kind -type mapping_kind -type cfa_kind -type rbp_kind -type prog_slot pftop pftop.bpf.c -- -I/usr/include/x86_64-linux-gnu
