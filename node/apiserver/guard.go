package apiserver

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/minichain/minichain/node/api"
)

// Guards against a web page in the user's browser driving the node: the
// API is served on loopback without a token for reads and for POST
// /api/v1/tx, so a page from anywhere could otherwise post to it (cross-site
// request forgery) or, by pointing its own host name at 127.0.0.1 (DNS
// rebinding), read from it as if it were same-origin.

// HostFilter answers 403 invalid_host to a request whose Host header names
// a host the node does not serve, and passes the others to h. Allowed are:
// IP addresses (a browser sends one only when the page itself came from
// that address, so rebinding cannot produce it), localhost and *.localhost,
// the host of the listen address, and the names given (--api-host; "*"
// allows any). Ports are not compared: a port published by Docker or a
// reverse proxy differs from the one the node listens on.
func HostFilter(h http.Handler, listenAddr string, names []string) http.Handler {
	allowed := map[string]bool{}
	anyHost := false
	for _, n := range names {
		if n == "*" {
			anyHost = true
		}
		allowed[normalHost(n)] = true
	}
	if host := normalHost(listenAddr); host != "" {
		allowed[host] = true
	}
	if anyHost {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := normalHost(r.Host)
		if host == "" || net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") || allowed[host] {
			h.ServeHTTP(w, r)
			return
		}
		writeJSON(w, http.StatusForbidden, api.Error{Error: api.ErrorBody{Code: "invalid_host",
			Message: fmt.Sprintf("this node does not answer to the host name %q (a guard against DNS rebinding): "+
				"use its IP address or localhost, or start the node with --api-host %s", host, host)}})
	})
}

// normalHost is the host part of a Host header or host:port, lower case,
// without brackets or a trailing dot.
func normalHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	return strings.ToLower(host)
}

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkBrowserWrite refuses a state-changing request a browser made for
// another site's page: one the browser marks cross-site (Sec-Fetch-Site) or
// whose Origin is not this host (http.CrossOriginProtection), or whose
// body is of a type an HTML form or a "simple" cross-origin fetch can send
// (text/plain, forms) rather than application/json. Programs that send no
// Origin and no Content-Type, or application/json, pass.
func (s *Server) checkBrowserWrite(r *http.Request) *api.ErrorBody {
	if safeMethod(r.Method) {
		return nil
	}
	if err := s.cop.Check(r); err != nil {
		return &api.ErrorBody{Code: "cross_origin",
			Message: "cross-origin requests that change the node are refused: a web page of another site may not post to the node's API"}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &api.ErrorBody{Code: "unsupported_media_type",
				Message: fmt.Sprintf("the body must be JSON sent as Content-Type: application/json, not %q", ct)}
		}
	}
	return nil
}

// allowedMethods lists the methods mux serves path with, for a 405's Allow
// header; none when the path is unknown.
func allowedMethods(mux *http.ServeMux, r *http.Request, catchAll string) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != catchAll {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return slices.Clip(out)
}
