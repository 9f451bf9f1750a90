// Package difftest proves that tayori classifies exactly like tenshi: its tests run the reference
// tenshi (Debian's package, through internal/tenshiref) and `tayori test --format json` on the same logs
// with the same rules (converted by `tayori convert`) and compare the digests entry by entry — queue,
// host, masked line and count. The package has no code of its own; everything is in its _test.go files.
//
// The rule sets are Debian's packaged tenshi rules, logcheck-database's rules and the configurations in
// testdata/, written to exercise every semantic tayori shares with tenshi. The differences tayori makes on
// purpose are kept out of the compared inputs and asserted one by one in intentional_test.go.
package difftest
