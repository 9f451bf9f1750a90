package difftest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The binaries under test, built once by TestMain.
var (
	tayoriBin       string // cmd/tayori
	logcheckconfBin string // internal/tenshiref/cmd/logcheckconf
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tayori-difftest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	tayoriBin = filepath.Join(dir, "tayori")
	logcheckconfBin = filepath.Join(dir, "logcheckconf")
	for bin, pkg := range map[string]string{
		tayoriBin:       "github.com/tayori-dev/tayori/cmd/tayori",
		logcheckconfBin: "github.com/tayori-dev/tayori/internal/tenshiref/cmd/logcheckconf",
	} {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "difftest: cannot build %s: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}
