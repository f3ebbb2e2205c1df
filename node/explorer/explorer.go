package explorer

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/chain/mempool"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/node/query"
)

// The block explorer: HTML pages served by the node itself next to the JSON
// API, built with html/template from templates, CSS and JavaScript embedded
// in the binary (node/explorer/). Every page reads the views the API serves
// (Status, BlockByID, TxByID, AddressInfo, ...), so what a visitor sees is
// what a program gets. Pictures are inline SVG drawn by the server
// (explorer_charts.go, explorer_merkle.go); the small script only refreshes
// the live parts of a page from /live/{page} when /live/state changes.
//
// Routes (Go 1.22 patterns, beside the API's /api/ and /metrics):
//
//	GET /                       home: status, charts, block tree, latest blocks and txs
//	GET /block/{height-or-hash} a block
//	GET /tx/{txid}              a transaction and its Merkle proof
//	GET /address/{address}      balance, coins, history
//	GET /mempool, GET /peers    the pool and the peers
//	GET /search?q=              a height, block hash, txid or address
//	GET /live/{page}            the live part of home, mempool or peers (HTML),
//	                            or /live/state: the key explorer.js polls (JSON)
//	GET /static/{file}          CSS, JavaScript, icon
//	/                           anything else: the not-found page

//go:embed templates/*.html static/*
var explorerFS embed.FS

// explorerCSP is the Content-Security-Policy of every explorer response:
// nothing from another host, no inline script or style.
const explorerCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// explorerTemplates holds one template set per page: the shared layout and
// partials plus the page's own file. Parsed once: the templates are part of
// the binary, and a test renders every page.
var explorerTemplates = mustParseExplorerTemplates()

// explorerStatic holds the files under /static/ with their ETags.
var explorerStatic = mustLoadExplorerStatic()

func mustParseExplorerTemplates() map[string]*template.Template {
	base := template.Must(template.New("explorer").Funcs(explorerFuncs).
		ParseFS(explorerFS, "templates/_*.html"))
	pages, err := fs.Glob(explorerFS, "templates/[a-z]*.html")
	if err != nil {
		panic(fmt.Sprintf("explorer templates: %v", err)) // a bad pattern: a programming error
	}
	out := make(map[string]*template.Template, len(pages))
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(explorerFS, p))
	}
	return out
}

// staticFile is an embedded asset ready to serve.
type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

// staticTypes are the content types of the assets, fixed here rather than
// read from the host's mime tables, which differ between systems.
var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

func mustLoadExplorerStatic() map[string]staticFile {
	out := map[string]staticFile{}
	entries, err := fs.ReadDir(explorerFS, "static")
	if err != nil {
		panic(fmt.Sprintf("explorer static files: %v", err))
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := explorerFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(fmt.Sprintf("explorer static files: %v", err))
		}
		sum := sha256.Sum256(b)
		ct, ok := staticTypes[path.Ext(e.Name())]
		if !ok {
			panic(fmt.Sprintf("explorer static files: no content type for %s", e.Name()))
		}
		out[e.Name()] = staticFile{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return out
}

// staticURL is the address of an embedded asset, versioned by its content so
// a browser never runs a stale script against a new page.
func staticURL(name string) string {
	f, ok := explorerStatic[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + strings.Trim(f.etag, `"`)
}

// Register mounts the block explorer's pages on mux, beside the API.
func (e *Explorer) Register(mux *http.ServeMux) {
	page := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, e.wrap(h))
	}
	page("GET /{$}", e.handleHome)
	page("GET /block/{id}", e.handleBlock)
	page("GET /tx/{txid}", e.handleTx)
	page("GET /address/{address}", e.handleAddress)
	page("GET /mempool", e.handleMempool)
	page("GET /peers", e.handlePeers)
	page("GET /search", e.handleSearch)
	page("GET /live/{page}", e.handleLive)
	// Every other path outside /api/ (/block/, /tx/a/b, /nothing, ...) gets
	// the friendly not-found page rather than the mux's plain text. A
	// pattern without a method: "GET /" would conflict with the API's "/api/".
	mux.Handle("/", e.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return query.NotFound("there is no page %s", r.URL.Path)
	}))
	mux.Handle("GET /static/{file}", http.HandlerFunc(serveStatic))
	mux.Handle("GET /favicon.ico", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.SetPathValue("file", "favicon.svg")
		serveStatic(w, r)
	}))
}

// setHeaders sets the security headers of every explorer response.
func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", explorerCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// wrap wraps a page handler: security headers, and the one
// translation of an error into a friendly page. Unknown or malformed input
// (any 4xx the API would answer) is a 404 page that shows what was asked
// for; anything else is logged and answered with a 500 page without detail.
func (e *Explorer) wrap(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-store")
		defer func() {
			if v := recover(); v != nil {
				e.log.Error("explorer page panicked", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				e.renderError(w, r, http.StatusInternalServerError, "")
			}
		}()
		if err := h(w, r); err != nil {
			status, _, msg := query.Classify(err)
			if status >= 500 {
				e.log.Error("explorer page failed", "path", r.URL.Path, "err", err)
				e.renderError(w, r, status, "")
				return
			}
			e.renderError(w, r, http.StatusNotFound, msg)
		}
	})
}

// errorData is the not-found and error page.
type errorData struct {
	explorerPage
	Status  int
	Asked   string // the path or search the visitor gave
	Message string
}

// renderError answers with the not-found page (status 404) or the
// error page (5xx); it never shows an internal error's detail.
func (e *Explorer) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	d := errorData{explorerPage: e.newPage("Not found", "notfound"), Status: status, Message: msg}
	d.Asked = r.URL.Path
	if q := r.URL.Query().Get("q"); q != "" {
		d.Asked = q
		d.Query = q
	}
	d.Asked = clip(d.Asked, 200)
	if status >= 500 {
		d.Title = "Something went wrong"
		d.Message = "The node could not build this page. The error is in the node's log."
	}
	if err := e.renderPage(w, status, "notfound", d); err != nil {
		e.log.Error("explorer error page failed", "err", err)
		http.Error(w, http.StatusText(status), status)
	}
}

// renderPage executes a page's layout into a buffer first, so a template
// failure never leaves half a page behind a 200.
func (e *Explorer) renderPage(w http.ResponseWriter, status int, page string, data any) error {
	return renderTemplate(w, status, page, "layout", data)
}

// renderTemplate executes one named template of a page's set.
func renderTemplate(w http.ResponseWriter, status int, page, name string, data any) error {
	t, ok := explorerTemplates[page]
	if !ok {
		return fmt.Errorf("explorer: no template set %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("explorer: render %s/%s: %w", page, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

// serveStatic serves an embedded asset, revalidated by ETag.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	setHeaders(w.Header())
	f, ok := explorerStatic[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(f.body)
}

// clip shortens s to at most max bytes on a rune boundary, marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "…"
}

// Views is what the explorer reads of the node: the views the API serves
// and, for its pictures of the block tree, the chain itself. *query.Reader
// implements it.
type Views interface {
	Status() api.Status
	BlockByID(id string) (api.Block, error)
	TxByID(txid chain.Hash) (api.Tx, error)
	TxProof(txid chain.Hash) (api.Proof, error)
	AddressInfo(address string) (api.Address, error)
	MempoolView(withHex bool) api.Mempool
	Peers() api.Peers
	BlockSummary(bi chain.BlockInfo, b *chain.Block) api.BlockSummary
	BlockView(bi chain.BlockInfo, b *chain.Block) (api.Block, error)
	MainBlocks(from int32, limit int) ([]chain.BlockInfo, []*chain.Block, error)
	Difficulty(bits uint32) float64
	Params() *chain.Params
	Chain() *chain.Chain
	Pool() *mempool.Mempool
	Network() query.Network
}

var _ Views = (*query.Reader)(nil)

// Explorer serves the block explorer's pages.
type Explorer struct {
	v      Views
	params *chain.Params
	chain  *chain.Chain
	pool   *mempool.Mempool
	net    query.Network // nil without a network
	log    *slog.Logger
}

// New returns the explorer over a node's views.
func New(v Views, log *slog.Logger) *Explorer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Explorer{v: v, params: v.Params(), chain: v.Chain(), pool: v.Pool(), net: v.Network(), log: log}
}
