//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tayoriBin is the daemon under test, built once by TestMain.
var tayoriBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tayori-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	tayoriBin = filepath.Join(dir, "tayori")
	args := []string{"build", "-o", tayoriBin}
	if os.Getenv("TAYORI_E2E_RACE") != "" {
		args = append(args, "-race") // the daemon under the race detector: TAYORI_E2E_RACE=1 go test ./internal/e2e
	}
	build := exec.Command("go", append(args, "github.com/tayori-dev/tayori/cmd/tayori")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot build tayori:", err)
		return 1
	}
	return m.Run()
}
