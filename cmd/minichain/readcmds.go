package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/minichain/minichain/chain"
	"github.com/minichain/minichain/node/api"
	"github.com/minichain/minichain/wallet"
)

func runStatus(args []string, stdout, stderr io.Writer) error {
	cmd, err := parseClientCmd("status", args, stderr, withJSON, nil, nil)
	if err != nil {
		return err
	}
	defer cmd.cancel()
	s, cf := cmd.status, cmd.clientFlags
	var sb strings.Builder
	fmt.Fprintf(&sb, "network     %s (minichain %s)\n", s.Network, s.Version)
	fmt.Fprintf(&sb, "height      %d\n", s.Height)
	fmt.Fprintf(&sb, "tip         %s (%s)\n", s.Tip, time.Unix(s.TipTime, 0).UTC().Format(time.RFC3339))
	fmt.Fprintf(&sb, "difficulty  %.4g (bits %s), network ~%.3g H/s\n", s.Difficulty, s.Bits, s.NetworkHashps)
	mining := "off"
	if s.Mining {
		mining = fmt.Sprintf("on, %d threads (%s), %.3g H/s, %d blocks found", s.MinerThreads, s.MinerKernel, s.Hashrate, s.BlocksMined)
	}
	fmt.Fprintf(&sb, "mining      %s\n", mining)
	fmt.Fprintf(&sb, "mempool     %d txs, %d bytes, %d orphans\n", s.Mempool.Count, s.Mempool.Bytes, s.Mempool.Orphans)
	fmt.Fprintf(&sb, "peers       %d\n", s.Peers)
	if s.Sync.Syncing {
		fmt.Fprintf(&sb, "syncing     %.1f%% of %d, %.1f blocks/s\n", 100*s.Sync.Progress, s.Sync.PeerBestHeight, s.Sync.BlocksPerSecond)
	}
	if s.PeerID != "" {
		fmt.Fprintf(&sb, "peer id     %s\n", s.PeerID)
		for _, a := range s.Multiaddrs {
			fmt.Fprintf(&sb, "  listen    %s\n", a)
		}
	}
	return emit(stdout, cf.json, s, sb.String())
}

func runBlock(args []string, stdout, stderr io.Writer) error {
	cmd, err := parseClientCmd("block", args, stderr, withJSON, nil, oneArg("block takes one height, hash or 'latest'"))
	if err != nil {
		return err
	}
	c, cf, fs := cmd.c, cmd.clientFlags, cmd.fs
	defer cmd.cancel()
	ctx := cmd.ctx
	b, err := c.Block(ctx, fs.Arg(0))
	if err != nil {
		return cmd.explain(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "block %d  %s\n", b.Height, b.Hash)
	fmt.Fprintf(&sb, "  status %s, main chain %v, %s\n", b.Status, b.MainChain, confirmations(b.Confirmations))
	fmt.Fprintf(&sb, "  previous %s\n", b.PreviousHash)
	if b.NextHash != "" {
		fmt.Fprintf(&sb, "  next     %s\n", b.NextHash)
	}
	fmt.Fprintf(&sb, "  merkle   %s\n", b.MerkleRoot)
	fmt.Fprintf(&sb, "  time %s  bits %s  nonce %d  difficulty %.4g\n", time.Unix(int64(b.Time), 0).UTC().Format(time.RFC3339), b.Bits, b.Nonce, b.Difficulty)
	fmt.Fprintf(&sb, "  %d transactions, %d bytes, reward %s (fees %s)\n", b.TxCount, b.Size, wallet.FormatAmount(b.Reward), wallet.FormatAmount(b.Fees))
	for _, tx := range b.Transactions {
		fmt.Fprintf(&sb, "    %s  %d in, %d out\n", tx.TxID, len(tx.Inputs), len(tx.Outputs))
	}
	return emit(stdout, cf.json, b, sb.String())
}

func runTx(args []string, stdout, stderr io.Writer) error {
	cmd, err := parseClientCmd("tx", args, stderr, withJSON, nil, oneArg("tx takes one txid"))
	if err != nil {
		return err
	}
	c, cf, fs := cmd.c, cmd.clientFlags, cmd.fs
	defer cmd.cancel()
	ctx := cmd.ctx
	tx, err := c.Tx(ctx, fs.Arg(0))
	if err != nil {
		return cmd.explain(err)
	}
	return emit(stdout, cf.json, tx, txText(tx))
}

// confirmations writes "1 confirmation", "3 confirmations".
func confirmations(n int32) string {
	if n == 1 {
		return "1 confirmation"
	}
	return fmt.Sprintf("%d confirmations", n)
}

func txText(tx api.Tx) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "tx %s (%d bytes)\n", tx.TxID, tx.Size)
	switch {
	case tx.InMempool:
		fmt.Fprintln(&sb, "  in the mempool, unconfirmed")
	case tx.BlockHeight != nil:
		fmt.Fprintf(&sb, "  in block %d %s, %s\n", *tx.BlockHeight, tx.BlockHash, confirmations(tx.Confirmations))
	}
	if tx.Fee != nil {
		fmt.Fprintf(&sb, "  fee %s\n", wallet.FormatAmount(*tx.Fee))
	}
	for i, in := range tx.Inputs {
		if in.Coinbase {
			fmt.Fprintf(&sb, "  in  %d: coinbase\n", i)
			continue
		}
		val := "?"
		if in.Value != nil {
			val = wallet.FormatAmount(*in.Value)
		}
		fmt.Fprintf(&sb, "  in  %d: %s:%d  %s %s\n", i, in.PrevTxID, in.PrevIndex, val, in.Address)
	}
	for _, out := range tx.Outputs {
		fmt.Fprintf(&sb, "  out %d: %s %s  [%s]\n", out.Index, wallet.FormatAmount(out.Value), out.Address, out.ScriptAsm)
	}
	return sb.String()
}

func runMempool(args []string, stdout, stderr io.Writer) error {
	cmd, err := parseClientCmd("mempool", args, stderr, withJSON, nil, nil)
	if err != nil {
		return err
	}
	c, cf := cmd.c, cmd.clientFlags
	defer cmd.cancel()
	ctx := cmd.ctx
	m, err := c.Mempool(ctx)
	if err != nil {
		return cmd.explain(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d transactions, %d bytes\n", m.Count, m.Bytes)
	for _, t := range m.Transactions {
		fmt.Fprintf(&sb, "  %s  %5d bytes  fee %s  (%.1f/byte)\n", t.TxID, t.Size, wallet.FormatAmount(t.Fee), t.FeeRate)
	}
	return emit(stdout, cf.json, m, sb.String())
}

func runPeers(args []string, stdout, stderr io.Writer) error {
	cmd, err := parseClientCmd("peers", args, stderr, withJSON, nil, nil)
	if err != nil {
		return err
	}
	c, cf := cmd.c, cmd.clientFlags
	defer cmd.cancel()
	ctx := cmd.ctx
	ps, err := c.Peers(ctx)
	if err != nil {
		return cmd.explain(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d peers\n", ps.Count)
	for _, p := range ps.Peers {
		fmt.Fprintf(&sb, "  %s  %s  height %d  %.1f ms\n", p.ID, p.Direction, p.BestHeight, p.LatencyMs)
		for _, a := range p.Addrs {
			fmt.Fprintf(&sb, "      %s\n", a)
		}
	}
	return emit(stdout, cf.json, ps, sb.String())
}

// runProof fetches a Merkle proof and checks it here, trusting the node
// for nothing but the data: the header must hash to the block hash and meet
// its own target, and the branch must lead from the txid to the header's
// Merkle root.
func runProof(args []string, stdout, stderr io.Writer) error {
	var txid chain.Hash
	cmd, err := parseClientCmd("proof", args, stderr, withJSON, nil, func(fs *flag.FlagSet) error {
		if fs.NArg() != 1 {
			return usagef("proof takes one txid")
		}
		var err error
		if txid, err = chain.ParseHash(fs.Arg(0)); err != nil {
			return usagef("%q is not a txid: %v", fs.Arg(0), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c, cf, p := cmd.c, cmd.clientFlags, cmd.p
	defer cmd.cancel()
	ctx := cmd.ctx
	pr, err := c.Proof(ctx, txid.String())
	if err != nil {
		return cmd.explain(err)
	}
	res, err := verifyProof(txid, pr, p)
	if err != nil {
		return err
	}
	return emit(stdout, cf.json, res, res.text())
}

// proofResult says what a local SPV check verified.
type proofResult struct {
	TxID          string   `json:"txid"`
	BlockHash     string   `json:"block_hash"`
	BlockHeight   int32    `json:"block_height"`
	Confirmations int32    `json:"confirmations"`
	Verified      bool     `json:"verified"`
	Checks        []string `json:"checks"`
}

func (r proofResult) text() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "SPV proof of %s\n", r.TxID)
	for _, c := range r.Checks {
		fmt.Fprintf(&sb, "  ok  %s\n", c)
	}
	fmt.Fprintf(&sb, "verified: the transaction is in block %d (%s), %s\n", r.BlockHeight, r.BlockHash, confirmations(r.Confirmations))
	return sb.String()
}

func verifyProof(txid chain.Hash, pr api.Proof, p *chain.Params) (proofResult, error) {
	res := proofResult{TxID: txid.String(), BlockHash: pr.BlockHash, BlockHeight: pr.BlockHeight, Confirmations: pr.Confirmations}
	raw, err := hex.DecodeString(pr.Header)
	if err != nil {
		return res, fmt.Errorf("proof: header is not hex")
	}
	hdr, err := chain.DecodeHeader(raw)
	if err != nil {
		return res, fmt.Errorf("proof: %w", err)
	}
	hash := hdr.BlockHash()
	if hash.String() != pr.BlockHash {
		return res, fmt.Errorf("FAILED: the header hashes to %s, not the claimed block %s", hash, pr.BlockHash)
	}
	res.Checks = append(res.Checks, "the 80-byte header hashes to the block hash "+hash.String())
	if err := chain.CheckProofOfWork(hash, hdr.Bits, p.PowLimit); err != nil {
		return res, fmt.Errorf("FAILED: the header's proof of work: %w", err)
	}
	res.Checks = append(res.Checks, fmt.Sprintf("the block hash meets the header's own target (bits %08x) within %s's limit", hdr.Bits, p.Name))
	proof := chain.MerkleProof{Index: pr.Index, TxCount: pr.TxCount}
	for _, s := range pr.Branch {
		h, err := chain.ParseHash(s)
		if err != nil {
			return res, fmt.Errorf("proof: bad branch hash %q", s)
		}
		proof.Branch = append(proof.Branch, h)
	}
	if !chain.VerifyMerkleProof(txid, proof, hdr.MerkleRoot) {
		return res, fmt.Errorf("FAILED: the Merkle branch does not lead from the txid to the header's Merkle root %s", hdr.MerkleRoot)
	}
	res.Checks = append(res.Checks, fmt.Sprintf("the Merkle branch of %d hashes leads from the txid (position %d of %d) to the header's Merkle root %s",
		len(proof.Branch), proof.Index, proof.TxCount, hdr.MerkleRoot))
	res.Verified = true
	return res, nil
}

func runValidate(args []string, stdout, stderr io.Writer) error {
	cmd, err := parseClientCmd("validate", args, stderr, withJSON|withToken, nil, nil)
	if err != nil {
		return err
	}
	c, cf := cmd.c, cmd.clientFlags
	defer cmd.cancel()
	ctx := cmd.ctx
	last := -1
	v, err := c.Validate(ctx, func(done, total int32) {
		if cf.json || total == 0 {
			return
		}
		pct := int(100 * int64(done) / int64(total))
		if pct != last {
			last = pct
			fmt.Fprintf(stderr, "\rvalidating: %3d%%  block %d of %d", pct, done, total)
		}
	})
	if last >= 0 {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return cmd.explain(err)
	}
	text := fmt.Sprintf("chain valid: %d blocks up to height %d, %d unspent outputs match the stored set (%.1f s)\n",
		v.Blocks, v.Height, v.Utxos, v.Seconds)
	if !v.Valid {
		text = fmt.Sprintf("CHAIN INVALID at height %d: %s\n", v.BadHeight, v.Error)
	}
	if err := emit(stdout, cf.json, v, text); err != nil {
		return err
	}
	if !v.Valid {
		return fmt.Errorf("the chain is invalid at height %d", v.BadHeight)
	}
	return nil
}

func runMine(args []string, stdout, stderr io.Writer) error {
	n := 1
	cmd, err := parseClientCmd("mine", args, stderr, withJSON|withToken, nil, func(fs *flag.FlagSet) error {
		switch fs.NArg() {
		case 0:
		case 1:
			v, err := strconv.Atoi(fs.Arg(0))
			if err != nil || v < 1 {
				return usagef("mine takes a number of blocks")
			}
			n = v
		default:
			return usagef("mine takes one number of blocks")
		}
		return nil
	})
	if err != nil {
		return err
	}
	c, cf := cmd.c, cmd.clientFlags
	defer cmd.cancel()
	ctx := cmd.ctx
	hashes, err := c.Generate(ctx, n)
	if err != nil {
		return cmd.explain(err)
	}
	return emit(stdout, cf.json, map[string]any{"blocks": hashes}, strings.Join(hashes, "\n")+"\n")
}
