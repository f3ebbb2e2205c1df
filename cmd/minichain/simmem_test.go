package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/pbnjay/memory"
)

func TestParseMemLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"7GiB", 7 << 30, ""},
		{"1500MiB", 1500 << 20, ""},
		{"0.5TiB", 1 << 39, ""},
		{"68719476736", 64 << 30, ""},
		{"100000KiB", 100000 << 10, ""},
		{"off", 0, ""},
		{"7G", 0, "want a size"},
		{"", 0, "want a size"},
		{"-1GiB", 0, "want a size"},
		{"NaNGiB", 0, "want a size"},
		{"InfGiB", 0, "want a size"},
		{"1e30TiB", 0, "want a size"},
		{"63MiB", 0, "below 64MiB"},
	} {
		got, err := parseMemLimit(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseMemLimit(%q) = %d, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseMemLimit(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// TestSimMemoryLine runs the real binary: the run's last line says the
// limit it ran under and how much live heap it needed.
func TestSimMemoryLine(t *testing.T) {
	_, errOut, err := cliRun(nil, "sim", "--nodes", "20", "--duration", "2h", "--quiet", "--memory-limit", "1500MiB")
	if err != nil {
		t.Fatalf("sim: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "soft memory limit 1.46 GiB") || !strings.Contains(errOut, "memory: ") {
		t.Fatalf("no memory line with the limit in:\n%s", errOut)
	}
	_, errOut, err = cliRun(nil, "sim", "--nodes", "5", "--duration", "10m", "--quiet", "--memory-limit", "off")
	if err != nil || !strings.Contains(errOut, "no memory limit") {
		t.Fatalf("sim --memory-limit off: %v\n%s", err, errOut)
	}
}

// TestMachineMemory: the default limit's base is known on Linux, where CI
// runs, and no larger than the machine.
func TestMachineMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc and /sys")
	}
	if m := machineMemory(); m <= 0 || uint64(m) > memory.TotalMemory() {
		t.Fatalf("machineMemory() = %d, machine has %d", m, memory.TotalMemory())
	}
}
