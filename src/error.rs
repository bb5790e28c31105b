//! The library's error type and its mapping to exit codes.

use std::path::PathBuf;

/// Everything that can stop a command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed scenario, flag, value or path: the user must fix the input (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// An output file or directory could not be written (exit 2: the path is bad).
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The file or directory that failed.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Ctrl-C stopped the command; the text says what was kept (exit 130).
    #[error("{0}")]
    Interrupted(String),
    /// A chart could not be drawn.
    #[error("cannot draw {}: {message}", path.display())]
    Chart {
        /// The chart file.
        path: PathBuf,
        /// What plotters reported.
        message: String,
    },
}

impl Error {
    /// The process exit code for this error: 2 for bad input and unusable paths,
    /// 130 after Ctrl-C.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput(_) | Error::Output { .. } | Error::Chart { .. } => 2,
            Error::Interrupted(_) => crate::interrupt::EXIT_CODE,
        }
    }

    /// Wraps an I/O error on `path`.
    pub fn output(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Output {
            path: path.into(),
            source,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
