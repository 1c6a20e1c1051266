package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// notFound is the reason to skip: no PostgreSQL on this machine.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }

// cluster is a running throw-away PostgreSQL server.
type cluster struct {
	dir  string // the temporary folder: data/, the socket, the log
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the server process has exited
}

// settings for a server that only tests use: nothing is synced to disk (a crash of the machine
// loses a test run, nothing else), few connections, logs kept small.
var settings = []string{
	"listen_addresses=127.0.0.1",
	"fsync=off", "synchronous_commit=off", "full_page_writes=off",
	"max_connections=200", "shared_buffers=256MB",
	"log_min_messages=warning", "log_min_error_statement=panic", "log_checkpoints=off",
}

// binDir finds the folder of initdb and postgres.
func binDir() (string, error) {
	if dir := os.Getenv("MFAPORTAL_POSTGRES_BIN"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
			return "", fmt.Errorf("MFAPORTAL_POSTGRES_BIN=%s: %w", dir, err)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// The newest major version first (numerically: 9 < 15).
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(initdb), nil
	}
	return "", notFound{"PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): install Debian's postgresql package, or set MFAPORTAL_POSTGRES_BIN"}
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// runAs is how the server's programs are started: as the postgres user when this process is root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres user, which was not found: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// command prepares a program of bin as the server's user (the equivalent of runuser -u postgres,
// without the session runuser keeps in between: Pdeathsig must reach the server itself).
func command(cred *syscall.Credential, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	return cmd
}

func startCluster() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", "mfaportal-pgtest-")
	if err != nil {
		return nil, err
	}
	os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	c := &cluster{dir: dir}
	initdb := command(cred, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// A free port may be taken between finding it and the server binding it: try a few.
	for attempt := 0; ; attempt++ {
		err := c.start(cred, bin)
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (c *cluster) start(cred *syscall.Credential, bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	args := []string{"-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(port), "-k", c.dir}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	log, err := os.Create(filepath.Join(c.dir, "server.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	c.cmd = command(cred, filepath.Join(bin, "postgres"), args...)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.done = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.done) }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-c.done:
			return fmt.Errorf("postgres exited at start:\n%s", c.logTail())
		case <-deadline:
			c.stop()
			return fmt.Errorf("postgres did not accept connections within 60 s:\n%s", c.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			conn.Close()
			if c.ready() {
				return nil
			}
		}
	}
}

// ready reports whether the server answers a query (it accepts connections before it has started).
func (c *cluster) ready() bool {
	cfg, err := pgx.ParseConfig(c.url("postgres"))
	if err != nil {
		return false
	}
	cfg.ConnectTimeout = time.Second
	conn, err := pgx.ConnectConfig(bgCtx(), cfg)
	if err != nil {
		return false
	}
	conn.Close(bgCtx())
	return true
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// stop shuts the server down (fast shutdown: open connections are ended) and removes its folder.
func (c *cluster) stop() error {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.done:
		case <-time.After(15 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
	}
	return os.RemoveAll(c.dir)
}

func (c *cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale removes the folders of clusters whose test binary died without stopping them (their
// server died with it).
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "mfaportal-pgtest-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(dir)
		}
	}
}

func bgCtx() context.Context { return context.Background() }
