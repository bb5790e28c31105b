//! Ctrl-C: stop cleanly, keep what is finished, say what was kept.
//!
//! The handler never interrupts a directory swap (see [`critical`]): an
//! output directory is always the old one or the new one. Temporary
//! directories registered with [`register_temp`] are removed on the way out.
//!
//! - A sweep stops gracefully ([`set_graceful`]): the first Ctrl-C lets the
//!   runs in progress finish and be kept for `--resume`; the sweep loop sees
//!   [`requested`] and the command ends with exit code 130 and one line
//!   saying what was kept. A second Ctrl-C stops at once (runs already kept
//!   stay kept: each is its own atomically written file).
//! - Every other command stops at once: the line set by [`set_message`] is
//!   printed, temporaries are removed, exit code 130. Nothing is half-written.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The process exit code after Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_CODE: i32 = 130;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static PRESSES: AtomicUsize = AtomicUsize::new(0);
static CRITICAL: AtomicUsize = AtomicUsize::new(0);
static GRACEFUL: AtomicBool = AtomicBool::new(false);

type Message = Box<dyn Fn() -> String + Send>;

struct State {
    temps: Vec<PathBuf>,
    message: Option<Message>,
}

static STATE: Mutex<State> = Mutex::new(State {
    temps: Vec::new(),
    message: None,
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Installs the Ctrl-C handler (once per process; later calls do nothing).
pub fn install() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    // Without a handler (an unusual platform), Ctrl-C kills the process as
    // usual: files are still written atomically, only the line is missing.
    let _ = ctrlc::set_handler(on_interrupt);
}

fn on_interrupt() {
    REQUESTED.store(true, Ordering::SeqCst);
    let presses = PRESSES.fetch_add(1, Ordering::SeqCst) + 1;
    if GRACEFUL.load(Ordering::SeqCst) && presses == 1 {
        eprintln!(
            "\nstampede: interrupted: finishing the runs in progress to keep them (Ctrl-C again to stop now)"
        );
        return;
    }
    exit_now();
}

/// Waits for any directory swap to end, removes temporaries, prints the
/// message and exits with [`EXIT_CODE`].
fn exit_now() -> ! {
    while CRITICAL.load(Ordering::SeqCst) > 0 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let state = state();
    for temp in &state.temps {
        let _ = std::fs::remove_dir_all(temp);
    }
    let line = state
        .message
        .as_ref()
        .map_or_else(|| "interrupted".to_string(), |m| m());
    eprintln!("\nstampede: {line}");
    std::process::exit(EXIT_CODE);
}

/// Whether Ctrl-C was pressed (a graceful command checks this between runs).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The first Ctrl-C only sets [`requested`] (for sweeps, which then stop between runs).
pub fn set_graceful(graceful: bool) {
    GRACEFUL.store(graceful, Ordering::SeqCst);
}

/// The line printed when Ctrl-C stops the process (evaluated at that moment).
pub fn set_message(message: impl Fn() -> String + Send + 'static) {
    state().message = Some(Box::new(message));
}

/// A temporary directory to remove if Ctrl-C stops the process.
pub fn register_temp(path: PathBuf) {
    state().temps.push(path);
}

/// `path` is no longer temporary (renamed into place, or removed).
pub fn unregister_temp(path: &std::path::Path) {
    state().temps.retain(|p| p != path);
}

/// While the returned guard lives, Ctrl-C waits: used around directory swaps.
pub fn critical() -> Critical {
    CRITICAL.fetch_add(1, Ordering::SeqCst);
    Critical(())
}

/// See [`critical`].
pub struct Critical(());

impl Drop for Critical {
    fn drop(&mut self) {
        CRITICAL.fetch_sub(1, Ordering::SeqCst);
    }
}
