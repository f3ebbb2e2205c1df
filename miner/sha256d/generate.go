package sha256d

//go:generate go run -C _asm . -out ../scan_amd64.s -stubs ../scan_amd64.go -pkg sha256d -layout ../zlayout.go
