//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cluster is one compose project: three devnet nodes.
type cluster struct {
	t       *testing.T
	root    string // the repository
	project string
	image   string
	compose []string // "docker compose" or "docker-compose"
	cli     string   // the minichain binary, for the user-side commands
	ports   map[string]string
	env     []string
	extra   []string // containers started outside compose (node4)
	volumes []string // volumes created outside compose
}

const bootstrapAddr = "/dns4/node1/tcp/4001/p2p/12D3KooWRYFKCHwy8soT1TD6WbDg6D3AYv8kMEPw515HqWjP6E5z"

func run(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// composeCommand prefers Compose v2 ("docker compose") and falls back to v1.
func composeCommand() []string {
	if out, err := run(context.Background(), "", nil, "docker", "compose", "version"); err == nil && strings.Contains(out, "version") {
		return []string{"docker", "compose"}
	}
	return []string{"docker-compose"}
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// newCluster builds the command-line tool on the host, then builds the
// image and starts the network with `docker compose up -d --build`: the
// user's command, through the Dockerfile's multi-stage build. The builder
// image is MINICHAIN_GO_IMAGE when set (e.g. golang:1.26-alpine where a
// registry is reachable); otherwise docker/offline.sh makes one from the
// host's Go toolchain and seeds the module downloads, as `make up` does.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	project := fmt.Sprintf("mce2e%d", time.Now().UnixNano()%1_000_000_000)
	c := &cluster{t: t, root: root, project: project, image: "minichain:" + project, compose: composeCommand(),
		ports: map[string]string{"node1": freePort(), "node2": freePort(), "node3": freePort()}}
	t.Cleanup(c.teardown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c.cli = filepath.Join(t.TempDir(), "minichain")
	if out, err := run(ctx, root, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", c.cli, "./cmd/minichain"); err != nil {
		t.Fatalf("build minichain: %v\n%s", err, out)
	}
	goImage := os.Getenv("MINICHAIN_GO_IMAGE")
	if goImage == "" {
		out, err := run(ctx, root, nil, "docker/offline.sh", "prepare")
		if err != nil {
			t.Fatalf("docker/offline.sh prepare: %v\n%s", err, out)
		}
		words := strings.Fields(out) // the image's name is the last word
		if len(words) == 0 {
			t.Fatal("docker/offline.sh prepare printed no image name")
		}
		goImage = words[len(words)-1]
	}
	c.env = []string{"MINICHAIN_IMAGE=" + c.image, "MINICHAIN_GO_IMAGE=" + goImage,
		"MINICHAIN_NODE1_PORT=" + c.ports["node1"], "MINICHAIN_NODE2_PORT=" + c.ports["node2"],
		"MINICHAIN_NODE3_PORT=" + c.ports["node3"]}
	t.Logf("project %s, compose %q, builder %s, ports %v", project, strings.Join(c.compose, " "), goImage, c.ports)
	start := time.Now()
	c.composeRunFor(10*time.Minute, "up", "-d", "--build")
	t.Logf("docker compose up -d --build took %s", time.Since(start).Round(time.Second))
	c.checkImage()
	return c
}

// checkImage checks what the Dockerfile promises of the image it built: a
// non-root user, the health check, and nothing but the binary and /data.
func (c *cluster) checkImage() {
	c.t.Helper()
	got := c.docker("image", "inspect", "--format",
		"{{.Config.User}} {{json .Config.Healthcheck.Test}} {{json .Config.Entrypoint}} {{len .RootFS.Layers}}", c.image)
	want := `10001:10001 ["CMD","/minichain","health"] ["/minichain"] 2`
	if got != want {
		c.t.Fatalf("image %s: user, healthcheck, entrypoint, layers = %s; want %s", c.image, got, want)
	}
}

// composeRun runs a compose subcommand for the project and fails the test
// on error.
func (c *cluster) composeRun(args ...string) string {
	c.t.Helper()
	return c.composeRunFor(3*time.Minute, args...)
}

// composeRunFor is composeRun with a deadline of its own.
func (c *cluster) composeRunFor(timeout time.Duration, args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append(append(c.compose[1:], "-p", c.project, "-f", filepath.Join(c.root, "docker-compose.yml")), args...)
	out, err := run(ctx, c.root, c.env, c.compose[0], full...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", strings.Join(c.compose, " "), strings.Join(args, " "), err, out)
	}
	return out
}

// docker runs a docker command and fails the test on error.
func (c *cluster) docker(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := run(ctx, c.root, nil, "docker", args...)
	if err != nil {
		c.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// container returns a service's container ID.
func (c *cluster) container(svc string) string {
	c.t.Helper()
	id := strings.TrimSpace(c.composeRun("ps", "-q", svc))
	if id == "" {
		c.t.Fatalf("no container for %s", svc)
	}
	return id
}

// network returns the name of the project's p2p network.
func (c *cluster) network() string {
	c.t.Helper()
	out := c.docker("network", "ls", "--filter", "label=com.docker.compose.project="+c.project,
		"--filter", "label=com.docker.compose.network=p2p", "--format", "{{.Name}}")
	if out == "" {
		c.t.Fatal("the p2p network was not found")
	}
	return strings.Fields(out)[0]
}

// teardown saves logs on failure and removes everything the run created.
func (c *cluster) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if c.t.Failed() {
		dir := filepath.Join(c.root, "testout", "e2e", c.project)
		_ = os.MkdirAll(dir, 0o755)
		for _, svc := range []string{"node1", "node2", "node3"} {
			out, _ := run(ctx, c.root, c.env, c.compose[0], append(c.compose[1:], "-p", c.project,
				"-f", filepath.Join(c.root, "docker-compose.yml"), "logs", "--no-color", svc)...)
			_ = os.WriteFile(filepath.Join(dir, svc+".log"), []byte(out), 0o644)
		}
		for _, name := range c.extra {
			out, _ := run(ctx, c.root, nil, "docker", "logs", name)
			_ = os.WriteFile(filepath.Join(dir, name+".log"), []byte(out), 0o644)
		}
		c.t.Logf("container logs saved in %s", dir)
	}
	for _, name := range c.extra {
		_, _ = run(ctx, c.root, nil, "docker", "rm", "-f", "-v", name)
	}
	_, _ = run(ctx, c.root, c.env, c.compose[0], append(c.compose[1:], "-p", c.project,
		"-f", filepath.Join(c.root, "docker-compose.yml"), "down", "-v", "--remove-orphans", "--timeout", "5")...)
	for _, v := range c.volumes {
		_, _ = run(ctx, c.root, nil, "docker", "volume", "rm", "-f", v)
	}
	_, _ = run(ctx, c.root, nil, "docker", "rmi", "-f", c.image)
}

// url returns a node's API base URL.
func (c *cluster) url(svc string) string { return "http://127.0.0.1:" + c.ports[svc] }

var httpClient = &http.Client{Timeout: 30 * time.Second}

// api calls a node's API and returns the status and body.
func (c *cluster) api(svc, method, path, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, c.url(svc)+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

// get decodes a successful GET into v.
func (c *cluster) get(svc, path string, v any) error {
	code, b, err := c.api(svc, "GET", path, "", nil)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("GET %s on %s: %d %s", path, svc, code, b)
	}
	return json.Unmarshal(b, v)
}

// mustGet is get that fails the test.
func (c *cluster) mustGet(svc, path string, v any) {
	c.t.Helper()
	if err := c.get(svc, path, v); err != nil {
		c.t.Fatal(err)
	}
}

// token reads a node's API token the way the README says: docker exec.
func (c *cluster) token(svc string) string {
	c.t.Helper()
	return c.docker("exec", c.container(svc), "/minichain", "token")
}

// minichain runs the command-line tool on the host against the devnet and
// returns its standard output (warnings on standard error are left out).
func (c *cluster) minichain(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.cli, args...)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "MINICHAIN_NETWORK=devnet")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("minichain %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// waitFor polls cond (every half second) until it holds or the deadline
// passes; cond's error is reported on timeout.
func (c *cluster) waitFor(timeout time.Duration, what string, cond func() error) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// status is the part of GET /api/v1/status the suite reads.
type status struct {
	Height    int32    `json:"height"`
	Tip       string   `json:"tip"`
	ChainWork string   `json:"chain_work"`
	PeerID    string   `json:"peer_id"`
	Peers     int      `json:"peers"`
	Mining    bool     `json:"mining"`
	Multiaddr []string `json:"multiaddrs"`
	Mempool   struct {
		Count int `json:"count"`
	} `json:"mempool"`
}

func (c *cluster) status(svc string) (status, error) {
	var s status
	err := c.get(svc, "/api/v1/status", &s)
	return s, err
}

// healthy reports a container's Docker health.
func (c *cluster) health(id string) string {
	c.t.Helper()
	return c.docker("inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", id)
}

// waitHealthy waits until each service's container reports healthy; when
// adds to the message ("after the restart").
func (c *cluster) waitHealthy(when string, svcs ...string) {
	c.t.Helper()
	for _, n := range svcs {
		id := c.container(n)
		c.waitFor(2*time.Minute, n+" to be healthy"+when, func() error {
			if h := c.health(id); h != "healthy" {
				return fmt.Errorf("health %s", h)
			}
			return nil
		})
	}
}

// sameTip waits until the nodes report one tip at the same moment (while
// they mine, the tip moves on; a moment of agreement comes between blocks).
func (c *cluster) sameTip(timeout time.Duration, svcs ...string) string {
	c.t.Helper()
	var tip string
	c.waitFor(timeout, "nodes "+strings.Join(svcs, ", ")+" to agree on one tip", func() error {
		tips := map[string]string{}
		for _, s := range svcs {
			st, err := c.status(s)
			if err != nil {
				return err
			}
			tips[s] = fmt.Sprintf("%d/%s", st.Height, st.Tip)
		}
		first := tips[svcs[0]]
		for s, t := range tips {
			if t != first {
				return fmt.Errorf("tips differ: %v (at %s)", tips, s)
			}
		}
		tip = first
		return nil
	})
	return tip
}
