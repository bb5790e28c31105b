//! Output paths: checked before anything runs, directories replaced whole.
//!
//! - **Checked first.** Every output path (`--out`, `--junit`, a blessed
//!   baseline) is checked before the first simulation: a path that is an
//!   existing file, has no name or a name too long, lies under a file, or
//!   cannot be written is bad input (exit 2) naming the flag and the path.
//! - **Replaced whole.** A run, sweep or plan directory is written into a
//!   fresh hidden sibling, `.NAME.stampede-tmp-PID-N`, then swapped into
//!   place by two renames (the old directory moves aside, the new one takes
//!   its name, the old one is removed). Ctrl-C never lands between the two
//!   (see [`crate::interrupt::critical`]), so the directory is always the old
//!   one or the new one, and no file of an earlier run survives a new one.
//! - **Nothing foreign is deleted.** stampede replaces a directory only if it
//!   wrote it: every entry must be listed in the directory's manifest
//!   ([`MANIFEST`], written with it) or be a file stampede writes (for
//!   directories written before the manifest existed). A directory holding
//!   anything else is refused (exit 2), and nothing is touched.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::interrupt;

/// The manifest of an output directory: the names stampede wrote there.
pub const MANIFEST: &str = ".stampede-files";

/// The folder of kept sweep runs.
const RUNS_DIR: &str = "runs";

/// Files stampede writes into run, sweep and plan directories.
const KNOWN_FILES: [&str; 13] = [
    "summary.json",
    "timeseries.csv",
    "classes.csv",
    "shards.csv",
    "scenario.toml",
    "sweep.csv",
    "aggregate.csv",
    "report.md",
    "report.html",
    "plan.csv",
    "fit.json",
    "compare.csv",
    MANIFEST,
];

/// Charts stampede draws (as `.png` or `.svg`), besides `heatmap-<metric>`.
const KNOWN_CHARTS: [&str; 10] = [
    "latency",
    "db_load",
    "memory",
    "classes",
    "shards",
    "comparison",
    "plan",
    "fit",
    "errors",
    "hit_ratio",
];

/// Whether `name` (a file directly in an output directory) is one stampede writes.
fn known_file(name: &str) -> bool {
    if KNOWN_FILES.contains(&name) || leftover(name) {
        return true;
    }
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    (ext == "png" || ext == "svg") && (KNOWN_CHARTS.contains(&stem) || stem.starts_with("heatmap-"))
}

/// A temporary file of an interrupted atomic write (`.NAME.tmp`, `.NAME.tmp.png`).
fn leftover(name: &str) -> bool {
    name.starts_with('.') && (name.ends_with(".tmp") || name.contains(".tmp."))
}

/// Whether `name` is a kept sweep run (`p00012-r0003.json`).
fn known_run(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('p').and_then(|r| r.strip_suffix(".json")) else {
        return leftover(name);
    };
    rest.split_once("-r").is_some_and(|(p, r)| {
        !p.is_empty()
            && !r.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && r.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The entries of `dir` that stampede did not write (empty if `dir` does not exist).
pub fn foreign_entries(dir: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::output(dir, e)),
    };
    let manifest: Vec<String> = std::fs::read_to_string(dir.join(MANIFEST))
        .map(|text| {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let mut foreign = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::output(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && name == RUNS_DIR {
            let inner = std::fs::read_dir(entry.path()).map_err(|e| Error::output(dir, e))?;
            for run in inner {
                let run = run.map_err(|e| Error::output(dir, e))?;
                let run_name = run.file_name().to_string_lossy().into_owned();
                if !run.file_type().is_ok_and(|t| t.is_file()) || !known_run(&run_name) {
                    foreign.push(format!("{RUNS_DIR}/{run_name}"));
                }
            }
        } else if is_dir || !(known_file(&name) || manifest.contains(&name)) {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(foreign)
}

/// Refuses `dir` (given by `flag`) if it holds anything stampede did not write.
pub fn check_ours(flag: &str, dir: &Path) -> Result<()> {
    let foreign = foreign_entries(dir)?;
    if foreign.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
    Err(Error::BadInput(format!(
        "{flag} {}: the directory holds {} that stampede did not write ({}{}); stampede replaces \
         its output directories as a whole and never deletes what it did not write: give another \
         {flag}, or move those files away",
        dir.display(),
        if foreign.len() == 1 {
            "an entry".to_string()
        } else {
            format!("{} entries", foreign.len())
        },
        shown.join(", "),
        if foreign.len() > 5 { ", ..." } else { "" }
    )))
}

/// The longest file name accepted (Linux's NAME_MAX, and most file systems').
const NAME_MAX: usize = 255;

/// The name of `path` (given by `flag`), checked: present and not too long.
fn name_of<'a>(flag: &str, path: &'a Path, what: &str) -> Result<&'a str> {
    let name = path
        .file_name()
        .ok_or_else(|| {
            Error::BadInput(format!(
                "{flag} {}: not a {what} name; give a path that ends in a name, e.g. {}",
                path.display(),
                if what == "file" {
                    "reports/stampede.xml"
                } else {
                    "results/my-run"
                }
            ))
        })?
        .to_str()
        .ok_or_else(|| {
            Error::BadInput(format!(
                "{flag} {}: the name is not valid UTF-8",
                path.display()
            ))
        })?;
    if name.len() > NAME_MAX {
        return Err(Error::BadInput(format!(
            "{flag} {}...: the name is {} bytes long; file names are limited to {NAME_MAX}",
            path.display()
                .to_string()
                .chars()
                .take(60)
                .collect::<String>(),
            name.len()
        )));
    }
    Ok(name)
}

/// The directory holding `path` (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks, before anything runs, that the file `path` (given by `flag`) can
/// be written: a name, not a directory, in an existing writable directory.
pub fn check_file(flag: &str, path: &Path) -> Result<()> {
    let name = name_of(flag, path, "file")?;
    if path.is_dir() {
        return Err(Error::BadInput(format!(
            "{flag} {}: is a directory; give a file name, e.g. {}/stampede.xml",
            path.display(),
            path.display()
        )));
    }
    let parent = parent_of(path);
    if !parent.is_dir() {
        return Err(Error::BadInput(format!(
            "{flag} {}: {} is not an existing directory; create it first",
            path.display(),
            parent.display()
        )));
    }
    // Probe with the temporary name the atomic write will use.
    let probe = parent.join(format!(".{name}.tmp"));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            Error::BadInput(format!(
                "{flag} {}: cannot write in {}: {e}",
                path.display(),
                parent.display()
            ))
        })
}

/// The directory of runs kept by a sweep in progress: a hidden sibling of
/// its output directory, `.NAME.stampede-partial`, so that `--resume` finds
/// them after an interruption while the output directory stays untouched.
pub fn partial_dir(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{}.stampede-partial", short(&name)))
}

/// `name`, cut to leave room for the suffixes of temporary names.
fn short(name: &str) -> &str {
    let mut end = name.len().min(160);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Cleans up after a stampede process killed outright (SIGKILL, power loss)
/// while writing `target`: its temporary siblings are removed, and an old
/// directory moved aside but not yet replaced is put back. Only names
/// stampede gives (`.NAME.stampede-tmp-PID-N`, `.NAME.stampede-old-PID-N`)
/// of processes no longer alive (known only where `/proc` exists) are touched.
fn recover(parent: &Path, name: &str, target: &Path) {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&format!(".{}.stampede-", short(name))) else {
            continue;
        };
        let (old, numbers) = match (rest.strip_prefix("tmp-"), rest.strip_prefix("old-")) {
            (Some(n), _) => (false, n),
            (_, Some(n)) => (true, n),
            _ => continue,
        };
        let Some(pid) = numbers
            .split('-')
            .next()
            .filter(|p| p.parse::<u32>().is_ok())
        else {
            continue;
        };
        if pid == std::process::id().to_string() || proc.join(pid).exists() {
            continue; // a live process's
        }
        if old && !target.exists() {
            let _ = std::fs::rename(entry.path(), target);
        } else {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Adds `files` (written into `dir` in place, by `stampede plot`) to the
/// manifest of `dir`, if it has one, so that they are known as stampede's.
pub fn record(dir: &Path, files: &[PathBuf]) -> Result<()> {
    let path = dir.join(MANIFEST);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(()); // written before manifests: known by name
    };
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for name in files.iter().filter_map(|f| f.file_name()) {
        let name = name.to_string_lossy().into_owned();
        if !lines.contains(&name) {
            lines.push(name);
        }
    }
    crate::report::write_atomic(&path, (lines.join("\n") + "\n").as_bytes())
}

/// How to say what became of `dir` when a command stops before writing it.
pub fn untouched(dir: &Path) -> String {
    if dir.exists() {
        format!("{}/ is unchanged", dir.display())
    } else {
        format!("{}/ was not written", dir.display())
    }
}

/// An output directory being written: a temporary sibling, swapped into
/// place whole by [`Staged::commit`], removed if dropped uncommitted.
#[derive(Debug)]
pub struct Staged {
    flag: String,
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

/// Checks the output directory `target` (given by `flag`) and creates its
/// temporary sibling: call before anything runs, so a bad path costs nothing.
pub fn prepare(flag: &str, target: &Path) -> Result<Staged> {
    let name = name_of(flag, target, "directory")?;
    match std::fs::metadata(target) {
        Ok(m) if m.is_dir() => check_ours(flag, target)?,
        Ok(_) => {
            return Err(Error::BadInput(format!(
                "{flag} {}: is an existing file, not a directory; give another path",
                target.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            let file = target.ancestors().skip(1).find(|a| a.is_file());
            return Err(Error::BadInput(match file {
                Some(file) => format!(
                    "{flag} {}: {} is a file, not a directory; give another path",
                    target.display(),
                    file.display()
                ),
                None => format!("{flag} {}: cannot use it: {e}", target.display()),
            }));
        }
    }
    let parent = parent_of(target);
    std::fs::create_dir_all(parent).map_err(|e| {
        Error::BadInput(format!(
            "{flag} {}: cannot create its parent directory {}: {e}",
            target.display(),
            parent.display()
        ))
    })?;
    recover(parent, name, target);
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let tmp = parent.join(format!(
        ".{}.stampede-tmp-{}-{}",
        short(name),
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&tmp); // a leftover of a dead process with our pid
    std::fs::create_dir(&tmp).map_err(|e| {
        Error::BadInput(format!(
            "{flag} {}: cannot write in {}: {e}",
            target.display(),
            parent.display()
        ))
    })?;
    interrupt::register_temp(tmp.clone());
    Ok(Staged {
        flag: flag.to_string(),
        target: target.to_path_buf(),
        tmp,
        committed: false,
    })
}

impl Staged {
    /// Where to write the directory's files now.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The final directory.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes the manifest and swaps the new directory into place; the old
    /// one (if any, and still only stampede's) is removed.
    pub fn commit(mut self) -> Result<PathBuf> {
        let mut names: Vec<String> = std::fs::read_dir(&self.tmp)
            .map_err(|e| Error::output(&self.tmp, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.push(MANIFEST.to_string());
        names.sort();
        let manifest = format!(
            "# written by stampede: the files it may replace in this directory\n{}\n",
            names.join("\n")
        );
        crate::report::write_atomic(&self.tmp.join(MANIFEST), manifest.as_bytes())?;

        let _guard = interrupt::critical();
        if self.target.is_dir() {
            // Re-checked: files may have been added while the simulation ran.
            check_ours(&self.flag, &self.target)?;
            let old = self.tmp.with_file_name(
                self.tmp
                    .file_name()
                    .expect("a temporary name")
                    .to_string_lossy()
                    .replacen(".stampede-tmp-", ".stampede-old-", 1),
            );
            std::fs::rename(&self.target, &old).map_err(|e| Error::output(&self.target, e))?;
            if let Err(e) = std::fs::rename(&self.tmp, &self.target) {
                let _ = std::fs::rename(&old, &self.target);
                return Err(Error::output(&self.target, e));
            }
            std::fs::remove_dir_all(&old).map_err(|e| Error::output(&old, e))?;
        } else {
            std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::output(&self.target, e))?;
        }
        self.committed = true;
        interrupt::unregister_temp(&self.tmp);
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
            interrupt::unregister_temp(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_what_stampede_writes() {
        for name in [
            "summary.json",
            "latency.png",
            "db_load.svg",
            "heatmap-latency_ms.p99.png",
            ".summary.json.tmp",
            MANIFEST,
        ] {
            assert!(known_file(name), "{name}");
        }
        for name in ["notes.md", "photo.png", "data.csv", "summary.json.bak"] {
            assert!(!known_file(name), "{name}");
        }
        assert!(known_run("p00012-r0003.json"));
        assert!(!known_run("p12.json") && !known_run("mine.json"));
    }

    #[test]
    fn files_recorded_in_the_manifest_are_stampedes_and_others_are_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join(MANIFEST), "# header\nsummary.json\n").unwrap();
        std::fs::write(dir.join("sketch.svg"), "").unwrap();
        std::fs::write(dir.join("notes.txt"), "").unwrap();
        assert_eq!(foreign_entries(dir).unwrap(), ["notes.txt", "sketch.svg"]);
        record(dir, &[dir.join("sketch.svg")]).unwrap();
        assert_eq!(foreign_entries(dir).unwrap(), ["notes.txt"]);
        assert!(check_ours("--out", dir).is_err());
        std::fs::remove_file(dir.join("notes.txt")).unwrap();
        assert!(check_ours("--out", dir).is_ok());
    }
}
