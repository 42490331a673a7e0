package main

// optimisations is the part of BENCHMARKS.md that says what each optimisation bought;
// it is measured once by hand (profile, change, re-run) and kept here with the code.
const optimisations = `
## What the optimisations bought

See the notes beside each package's benchmarks; numbers are re-measured by ` + "`make bench`" + `.
`
