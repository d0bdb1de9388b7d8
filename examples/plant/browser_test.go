package main

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taktmes/takt/quality"
)

var screenshots = flag.String("screenshots", "", "write PNG screenshots of the terminal, board and trace pages to this directory (docs)")

// browserPath returns the Chromium the browser test drives: $TAKT_BROWSER (CI sets it, and the
// test fails when it is missing), else chromium from PATH; without one the test is skipped.
func browserPath(t *testing.T) string {
	if p := os.Getenv("TAKT_BROWSER"); p != "" {
		_, err := os.Stat(p)
		require.NoError(t, err, "TAKT_BROWSER=%s: install the Debian packages chromium and chromium-driver", p)
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found: install the Debian packages chromium and chromium-driver, or set TAKT_BROWSER=/usr/bin/chromium")
	return ""
}

// The operator's and the supervisor's day in a real browser: track a lot in and out at the
// CNC terminal, track it in at inspection, record an out-of-spec bore, see the engine refuse
// the track-out because of the hold, see the hold on the live supervisor board (and one placed
// meanwhile appear without a reload), and find the lot by trace down to its supplier lots.
func TestBrowser(t *testing.T) {
	chromium := browserPath(t)
	d := newTestDemo(t)
	srv := httptest.NewServer(d.app.routes()) // listens on 127.0.0.1 only
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun)...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()

	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(tab, actions...), what)
	}
	// submit clicks a form's button and waits for the page the server answers with.
	submit := func(button string, status int) {
		t.Helper()
		resp, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.ID(button)))
		require.NoError(t, err, button)
		require.Equal(t, int64(status), resp.Status, "answer to %s", button)
	}
	text := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Text(chromedp.ID(id)))
		require.NoError(t, err, id)
		return s
	}
	shoot := func(name string) {
		t.Helper()
		if *screenshots == "" {
			return
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(*screenshots, name), png, 0o644))
	}
	const lot = lotAtCNC

	// Olga runs the lot on the CNC: all 30 in, 29 good and 1 scrapped out.
	do("open the CNC terminal", chromedp.Navigate(srv.URL+"/terminal?wc=CNC&op=olga"))
	submit("trackin-"+lot, http.StatusOK)
	assert.Contains(t, text("message"), lot+" tracked in at step 10")
	do("enter the track-out", chromedp.SetValue(chromedp.CSS("#op-"+lot+"-10 input[name=good]"), "29"),
		chromedp.SendKeys(chromedp.CSS("#op-"+lot+"-10 input[name=scrap]"), "1"))
	submit("trackout-"+lot, http.StatusOK)
	assert.Contains(t, text("message"), lot+" tracked out at step 10")

	// Carla inspects it: the bore is oversize, the plan holds the lot and opens an NC.
	do("open the QC terminal", chromedp.Navigate(srv.URL+"/terminal?wc=QC&op=carla"))
	submit("trackin-"+lot, http.StatusOK)
	do("enter the measurements", chromedp.SendKeys(chromedp.CSS("#op-"+lot+"-20 input[name=value_bore]"), "10.081"),
		chromedp.SendKeys(chromedp.CSS("#op-"+lot+"-20 input[name=value_depth]"), "42.01"))
	submit("record-"+lot, http.StatusOK)
	msg := text("message")
	assert.Contains(t, msg, "OUT OF SPEC")
	assert.Contains(t, msg, "hold placed")
	assert.Contains(t, msg, "non-conformance")
	shoot("terminal.png")

	// The engine refuses the track-out and says why.
	submit("trackout-"+lot, http.StatusConflict)
	errText := text("error")
	assert.Contains(t, errText, "On hold")
	assert.Contains(t, errText, "bore 10.081 above USL")

	// The supervisor board shows the hold, and a hold placed meanwhile appears live.
	do("open the board", chromedp.Navigate(srv.URL+"/board"))
	_, err := chromedp.Run(tab, chromedp.Poll[bool](`document.getElementById('status').textContent === 'live'`, chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the board connects to the event stream")
	holds := text("holds")
	assert.Contains(t, holds, "lot "+lot)
	assert.Contains(t, text("ncs"), lot)
	_, err = d.plant.PlaceHold(ctx, site, quality.Target{Kind: quality.OnLot, ID: "PLANT-1-5120-2"}, "die D-200 cracked", opts(ctx, "sam", "")...)
	require.NoError(t, err)
	_, err = chromedp.Run(tab, chromedp.Poll[bool](`document.getElementById('holds').innerText.includes('die D-200 cracked')`, chromedp.WithPollingTimeout(30*time.Second)))
	require.NoError(t, err, "the board shows a new hold without a reload")
	shoot("board.png")

	// Traceability finds the lot and what went into it, down to the supplier lots.
	do("search the lot", chromedp.Navigate(srv.URL+"/trace"), chromedp.SendKeys(chromedp.ID("q"), lot))
	submit("search", http.StatusOK)
	back := text("backward")
	assert.Contains(t, back, "lot:"+lot)
	assert.Contains(t, back, "lot:CAST-0421")
	assert.Contains(t, back, "supplier-lot:CASTING-H|Foundry Nord|FN-2291")
	assert.True(t, strings.Contains(text("lot-holds"), "active"), "the lot's hold shows on its trace page")
	shoot("trace.png")
}
