package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NoChromium is the message of a browser check that cannot run.
const NoChromium = "chromium is absent; skipping the browser check (CI installs it with .ci/deps/chromium.sh)"

// ChromiumPath is the Chromium binary on the PATH ("" when there is none).
func ChromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Rendered is what headless Chromium made of an HTML file.
type Rendered struct {
	// DOM is the document after the load event (--dump-dom), with the probe's element
	// <div id="bonsai-probe" data-images="loaded/total" data-tables="id:rows:visible ...">.
	DOM string
	// Console holds the page's console messages (Chromium's "CONSOLE" log lines): errors such
	// as a picture that failed to load show up here.
	Console []string
	// Screenshot is a PNG of the page at 1400 pixels wide (nil unless asked for).
	Screenshot []byte
}

// chromiumFlags run Chromium without a sandbox (tests may run as root), without a GPU and
// without talking to the network.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"}

// probeScript, added before </body> of a copy of the page, records after the load event how
// many pictures decoded and each table's row count and whether it takes up space.
const probeScript = `<script>window.addEventListener('load', function () {
  var imgs = document.images, ok = 0, rows = [];
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }
  var ts = document.querySelectorAll('table');
  for (var j = 0; j < ts.length; j++) { rows.push((ts[j].id || 'table') + ':' + ts[j].rows.length + ':' + (ts[j].getBoundingClientRect().height > 0)); }
  var d = document.createElement('div');
  d.id = 'bonsai-probe';
  d.setAttribute('data-images', ok + '/' + imgs.length);
  d.setAttribute('data-tables', rows.join(' '));
  document.body.appendChild(d);
});</script>`

// RenderInChromium opens a copy of the HTML file at path, with the probe script added, in
// headless Chromium with a fresh profile, and returns the DOM after loading, the console
// messages and, with screenshot, a PNG of the page. It skips the test when Chromium is not
// installed (check ChromiumPath first where the rest of the test should still run).
func RenderInChromium(t testing.TB, path string, screenshot bool) Rendered {
	t.Helper()
	bin := ChromiumPath()
	if bin == "" {
		t.Skip(NoChromium)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	probed := filepath.Join(dir, "probed.html")
	html := strings.Replace(string(page), "</body>", probeScript+"</body>", 1)
	if err := os.WriteFile(probed, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + probed
	var r Rendered
	out, logs := runChromium(t, bin, filepath.Join(dir, "profile-dom"), "--virtual-time-budget=5000", "--dump-dom", url)
	r.DOM = out
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, ":CONSOLE") {
			r.Console = append(r.Console, line)
		}
	}
	if screenshot {
		shot := filepath.Join(dir, "page.png")
		runChromium(t, bin, filepath.Join(dir, "profile-shot"), "--window-size=1400,2400", "--screenshot="+shot, url)
		if r.Screenshot, err = os.ReadFile(shot); err != nil {
			t.Fatalf("chromium wrote no screenshot: %v", err)
		}
	}
	return r
}

// runChromium runs one headless Chromium command with its own profile folder and returns its
// standard output and its log (standard error).
func runChromium(t testing.TB, bin, profile string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := append(append(append([]string{}, chromiumFlags...), "--user-data-dir="+profile, "--enable-logging=stderr", "--v=0"), args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

var probeRE = regexp.MustCompile(`<div id="bonsai-probe" data-images="(\d+)/(\d+)" data-tables="([^"]*)">`)

// Check fails the test unless the probe saw images pictures, all decoded, each named table
// with rows and a height, and no console message.
func (r Rendered) Check(t testing.TB, images int, tables []string) {
	t.Helper()
	m := probeRE.FindStringSubmatch(r.DOM)
	if m == nil {
		t.Fatalf("no probe result in the DOM:\n%.2000s", r.DOM)
	}
	if m[1] != m[2] || m[2] != strconv.Itoa(images) {
		t.Errorf("%s of %s pictures decoded, want %d", m[1], m[2], images)
	}
	got := map[string]string{}
	for _, f := range strings.Fields(m[3]) {
		if parts := strings.Split(f, ":"); len(parts) == 3 {
			got[parts[0]] = parts[1] + ":" + parts[2]
		}
	}
	for _, name := range tables {
		v, ok := got[name]
		if !ok || strings.HasPrefix(v, "0:") || !strings.HasSuffix(v, ":true") {
			t.Errorf("table %s: rows:visible = %q (all: %s)", name, v, m[3])
		}
	}
	if len(r.Console) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(r.Console, "\n"))
	}
}
