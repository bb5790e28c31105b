//! stampede's integration tests: one binary, one module per concern.
//!
//! - `analytic`: the model against closed-form results (TTL-cache hit ratio,
//!   Erlang C, the interactive response-time law), and `stampede plan`
//!   finding Erlang C's pool size and sustainable rate.
//! - `invariants`: properties that hold for any scenario under any strategy,
//!   fault and policy (each request ends once, every hold released, memory
//!   bound, timeouts bound latency, app servers change nothing without
//!   per-server state), over random scenarios.
//! - `guards`: the engine's bounds: no latency clamped, quantiles within the
//!   exact extremes, drain rows, overloaded, stalled and endless runs stopped.
//! - `structure`: the modules form no import cycle.
//! - `determinism`: same seed, same bytes; different seed, different results;
//!   plan and check identical for any --jobs.
//! - `bad_input`: every class of bad input exits 2 with a message naming the key.
//! - `generated_input`: seeded random mutations of every bundled scenario and
//!   random `--set` values are refused naming their key and line, or validate
//!   and run without a panic.
//! - `cli`: the binary end to end on bundled scenarios, checking SPEC §3 outputs.
//! - `sweeps`: grids on rayon, identical for any --jobs; bad grids; sweep charts.
//! - `checks`: `stampede check` (expectations, baselines, --bless, JUnit) and the
//!   regression test of every bundled scenario against results/.
//! - `strategies`: mitigations and faults, emergent behaviour of each.
//! - `outputs`: issue 10: kept runs bound to their scenario, strict baselines,
//!   output paths checked first, directories replaced whole, Ctrl-C.
//! - `charts`: issue 11: errors and hit-ratio charts, variant titles, legends
//!   off the data, the bundled font in SVG, `plot` refusing empty series.
//! - `command_line`: issue 11: progress, --json, completions, init, errors all at
//!   once, --set into arrays, check and plan telling more, the fix runs checked.
//! - `memory`: eviction policies against Che's approximation and each other, OOM, classes.
//! - `policies`: issue 13: FIFO, CLOCK, SIEVE and both S3-FIFOs equal
//!   libCacheSim's pinned misses on the CloudPhysics trace.
//! - `compare`: issue 11: `stampede compare` aligns runs of one scenario and
//!   labels them by what differs; unrelated scenarios and non-runs exit 2.
//! - `fit`: issue 12: `stampede fit` recovers generated workloads, predicts
//!   their hit ratio, and reports its limits on the real trace.
//! - `report_html`: issue 11: `report.html` in every output directory,
//!   self-contained, identical for any --jobs, rendered by headless Chromium.

mod analytic;
mod bad_input;
mod cache_server;
mod charts;
mod checks;
mod cli;
mod command_line;
mod common;
mod compare;
mod determinism;
mod fit;
mod generated_input;
mod guards;
mod invariants;
mod memory;
mod outputs;
mod policies;
mod readme;
mod report_html;
mod strategies;
mod structure;
mod sweeps;
mod trace;
