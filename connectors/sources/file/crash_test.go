package file_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigilsec/vigil/streams/streamstest"
	"github.com/vigilsec/vigil/topics"
)

var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "vigil-file-test"); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(binDir) }))
}

var (
	buildOnce sync.Once
	vigilBin  string
	buildErr  error
)

// vigil builds the vigil binary once, for the tests that run it as a
// process; they skip if it cannot be built.
func vigil(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		bin := filepath.Join(binDir, "vigil")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/vigilsec/vigil/cmd/vigil").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
			return
		}
		vigilBin = bin
	})
	if buildErr != nil {
		t.Skipf("cannot build vigil: %v", buildErr)
	}
	return vigilBin
}

// TestCrashKill follows a file that another process writes, in a `vigil
// run` that is killed with SIGKILL four times while it reads and restarted
// each time. kcat, reading committed records, finds every line exactly
// once.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vigil as a process")
	}
	kc := streamstest.Kcat(t)
	bin := vigil(t)
	brokers := streamstest.Brokers(t)
	names := topics.Names{Prefix: streamstest.Prefix(t)}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `kafka:
  brokers: [%s]
  instance_id: crash-test
topics:
  prefix: %s
  partitions: 3
ops:
  listen: ""
log:
  format: json
sources:
  tail:
    type: file
    source: test
    paths: [%q]
    follow: true
    poll_interval: 20ms
    commit_interval: 100ms
    commit_records: 500
apps: {}
sinks: {}
`, strings.Join(brokers, ", "), names.Prefix, filepath.Join(dir, "*.log")), 0o644); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	var logMu sync.Mutex
	run := func() *exec.Cmd {
		cmd := exec.Command(bin, "run", "--config", cfg)
		w := &lockedWriter{mu: &logMu, w: &logs}
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
		})
		return cmd
	}
	dump := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		s := logs.String()
		if len(s) > 8000 {
			s = "...\n" + s[len(s)-8000:]
		}
		return s
	}

	// The writer: 30000 lines over about four seconds, in chunks that cut
	// lines anywhere.
	const total = 30000
	var all bytes.Buffer
	for i := 1; i <= total; i++ {
		fmt.Fprintf(&all, `{"n":%d,"pad":"%s"}`+"\n", i, strings.Repeat("x", 80))
	}
	data := all.Bytes()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wrote := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(1, 2))
		for len(data) > 0 {
			n := min(len(data), 1+rng.IntN(8000))
			if _, err := f.Write(data[:n]); err != nil {
				wrote <- err
				return
			}
			data = data[n:]
			time.Sleep(5 * time.Millisecond)
		}
		wrote <- nil
	}()

	cmd := run()
	for _, after := range []time.Duration{700, 800, 900, 1000} {
		time.Sleep(after * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		cmd = run()
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	// Until the last process has caught up, then stop it cleanly.
	count := func() (map[int]int, int) {
		out, err := exec.Command(kc, "-C", "-b", strings.Join(brokers, ","), "-t", names.Raw("test"), "-e", "-q",
			"-X", "isolation.level=read_committed", "-f", "%s\n").Output()
		if err != nil {
			t.Fatalf("kcat: %v\nvigil:\n%s", err, dump())
		}
		seen := map[int]int{}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line == "" {
				continue
			}
			var v struct{ N int }
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatalf("kcat printed %q: %v", line, err)
			}
			seen[v.N]++
			n++
		}
		return seen, n
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		if _, n := count(); n >= total {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%d records committed, want %d\nvigil:\n%s", n, total, dump())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vigil run after SIGTERM: %v\n%s", err, dump())
	}
	seen, n := count()
	var bad []string
	for i := 1; i <= total; i++ {
		if seen[i] != 1 {
			bad = append(bad, fmt.Sprintf("line %d seen %d times", i, seen[i]))
		}
	}
	if n != total || len(bad) > 0 {
		if len(bad) > 20 {
			bad = append(bad[:20], "...")
		}
		t.Errorf("kcat read %d committed records, want %d, each line once:\n%s", n, total, strings.Join(bad, "\n"))
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
