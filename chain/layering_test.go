package chain_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The module's layers, lowest first. A package may import packages of a
// lower layer and packages of its own subtree, nothing else of the module
// (docs/ARCHITECTURE.md draws it): cmd -> {sim, loadgen} -> node ->
// {p2p, miner, wallet} -> chain. Test files are not held to it.
const module = "github.com/minichain/minichain"

var layers = []struct {
	name     string
	prefixes []string
}{
	{"chain", []string{"chain"}},
	{"libraries", []string{"p2p", "miner", "wallet"}},
	{"node", []string{"node"}},
	{"tools", []string{"loadgen", "sim", "attack"}},
	{"cmd", []string{"cmd"}},
}

// Packages outside the layers: e2e is black-box and imports nothing of the
// module.
var outside = map[string]bool{"e2e": true}

// databaseEngines are module paths no package under chain/ may link: the
// consensus core reaches storage through chain/store's interface only.
var databaseEngines = []string{"github.com/dgraph-io/", "github.com/syndtr/goleveldb", "go.etcd.io/bbolt", "github.com/cockroachdb/pebble"}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Imports,Deps", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func layerOf(rel string) int {
	for i, l := range layers {
		for _, p := range l.prefixes {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				return i
			}
		}
	}
	return -1
}

// subtreeRoot is the first path element: node for node/api.
func subtreeRoot(rel string) string {
	root, _, _ := strings.Cut(rel, "/")
	return root
}

// TestLayering checks the dependency direction of every package of the
// module, and that nothing under chain/ links a database engine.
func TestLayering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		from := layerOf(rel)
		switch {
		case outside[rel]:
		case from < 0:
			t.Errorf("package %s belongs to no layer: place it in the table of chain/layering_test.go", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			irel := strings.TrimPrefix(imp, module+"/")
			if outside[rel] {
				t.Errorf("%s imports %s: it must stay black-box", rel, irel)
				continue
			}
			to := layerOf(irel)
			if subtreeRoot(irel) == subtreeRoot(rel) || to < from {
				continue
			}
			t.Errorf("%s (layer %s) imports %s (layer %s): dependencies point down, cmd -> node -> {p2p, miner, wallet} -> chain",
				rel, layers[from].name, irel, layers[max(to, 0)].name)
		}
		if from == 0 {
			if d := firstDatabaseDep(p.Deps); d != "" {
				t.Errorf("%s links the database engine %s: chain reaches storage through chain/store's interface only", rel, d)
			}
		}
	}
}

func firstDatabaseDep(deps []string) string {
	for _, d := range deps {
		for _, db := range databaseEngines {
			if strings.HasPrefix(d, db) {
				return d
			}
		}
	}
	return ""
}
